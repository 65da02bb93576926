using System.Diagnostics;
using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using StreamMonitor.Contracts;
using StreamMonitor.Kafka;
using StreamMonitor.Kafka.Embedded;
using StreamMonitor.Models;
using StreamMonitor.Models.Batch;
using StreamMonitor.Models.Inference;
using StreamMonitor.Models.Store;
using StreamMonitor.Models.Training;
using StreamMonitor.Scorer;

// Scorer benchmark. Prints figures and ratios against their baselines; asserts nothing (speed goals live here,
// not in timed tests). Usage: dotnet run -c Release --project bench/StreamMonitor.Scorer.Bench [-- --hidden 1024,1024,1024
//   --backfill-rows 30000 --backfill-batch 256 --warmup-rounds 2 --rounds 3 --batches-in-flight 2 --rate 300[,1500]|none --seconds 15 --batch 64 --queue-delay-ms 5 --stream-intra-op-threads 0 --execution-provider auto|cpu|cuda --cuda-device 0 --decode-events]
var settings = BenchSettings.Parse(args);
var c = CultureInfo.InvariantCulture;
var root = Directory.CreateTempSubdirectory("streammon-bench-").FullName;
try
{
    Console.WriteLine($"Machine: {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}; ONNX Runtime providers: {string.Join(",", ModelSession.AvailableProviders())}");

    // Heavy model: an MLP trained briefly on the real data (accuracy is not the point; its compute is).
    var data = FindData();
    var sw = Stopwatch.StartNew();
    var build = ModelBuilder.Build(new ModelBuildRequest
    {
        DataPath = data,
        StoreRoot = Path.Combine(root, "models"),
        Name = "heavy",
        Kind = "mlp",
        Settings = new TrainingSettings { Hidden = settings.Hidden, Epochs = settings.Epochs },
    });
    var stored = new ModelStore(Path.Combine(root, "models")).Load("heavy", "1");
    var flopsPerRow = 2.0 * build.Network.Layers.Sum(l => (double)l.Inputs * l.Outputs);
    Console.WriteLine(string.Create(c, $"Heavy model: mlp [{string.Join(',', settings.Hidden)}], {flopsPerRow / 1e6:F1} MFLOP/row, {stored.OnnxBytes.Length / 1e6:F1} MB, trained {settings.Epochs} epoch(s) in {sw.Elapsed.TotalSeconds:F1} s, held-out accuracy {build.Manifest.Training!.HeldOutAccuracy:F3}"));
    var rows = build.HeldOut.Rows.Concat(build.Train.Rows).ToArray();

    // 1. Raw ONNX Runtime on preloaded pinned tensors: the machine's limit for this model.
    Console.WriteLine();
    Console.WriteLine("1. Raw ONNX Runtime throughput (preloaded pinned tensors, IO binding, no Kafka)");
    var raw = new Dictionary<int, double>();
    using (var session = ModelSession.Create(stored, settings.Session(256), NullLogger.Instance))
    {
        Console.WriteLine($"   execution provider: {session.ExecutionProvider} (asked for: {settings.Provider.ToString().ToLowerInvariant()})");
        for (var r = 0; r < 256; r++)
        {
            Fill(session.InputRow(r), rows[r % rows.Length]);
        }

        foreach (var batch in new[] { 1, 32, 256 })
        {
            var (rowsPerSecond, runs, seconds) = RawThroughput(session, batch, settings.RawSeconds);
            raw[batch] = rowsPerSecond;
            Console.WriteLine(string.Create(c, $"   batch {batch,3}: {raw[batch],10:N0} rows/s  ({seconds / runs * 1e3:F3} ms/run, {raw[batch] * flopsPerRow / 1e9:F1} GFLOP/s, {runs} runs)"));
        }

        // 4 (measured here, on the same session). Managed bytes per row on the hot path: validate + fill the pinned
        // input from decoded events, Run, read outputs.
        var validator = new FeatureValidator(stored.Manifest, NonFinitePolicy.Reject, rejectExtraFeatures: true);
        var events = rows.Take(256).Select((row, i) => ToEvent(build.Manifest.Features, row, i, "heavy")).ToArray();
        double sink = 0;
        void HotPath()
        {
            for (var i = 0; i < events.Length; i++)
            {
                if (validator.Fill(events[i], session.InputRow(i)) is not null)
                {
                    throw new InvalidOperationException("bench event failed validation");
                }
            }

            session.Run(events.Length);
            for (var i = 0; i < events.Length; i++)
            {
                sink += session.OutputRow(i)[0];
            }
        }

        HotPath();
        const int batches = 40;
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var b = 0; b < batches; b++)
        {
            HotPath();
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Console.WriteLine();
        Console.WriteLine(string.Create(c, $"4. Managed allocation on the hot path (validate+fill pinned input, Run, read output), {batches} x 256 rows: {allocated} bytes = {(double)allocated / (batches * 256):F3} bytes/row (goal 0; checksum {sink:F1})"));

        // 5. Decoding one FeatureEvent: Avro.Reflect through EventCodec against the reflection-free decoder.
        var decodeCodec = new EventCodec();
        var decoder = new FeatureEventDecoder(decodeCodec);
        var encoded = events.Select(decodeCodec.Serialize).ToArray();
        Console.WriteLine();
        Console.WriteLine("5. Decoding a FeatureEvent (30 features, single-threaded)");
        foreach (var (label, decode) in new (string, Func<byte[], FeatureEvent>)[] { ("EventCodec (Avro.Reflect)", decodeCodec.Deserialize<FeatureEvent>), ("FeatureEventDecoder", decoder.Decode) })
        {
            var checksum = 0L;
            foreach (var e in encoded)
            {
                checksum += decode(e).Features.Count;
            }

            var decodes = 0;
            var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
            var decodeStart = Stopwatch.GetTimestamp();
            while (decodes < 2_000 || Stopwatch.GetElapsedTime(decodeStart).TotalSeconds < 1)
            {
                checksum += decode(encoded[decodes % encoded.Length]).Features.Count;
                decodes++;
            }

            var decodeSeconds = Stopwatch.GetElapsedTime(decodeStart).TotalSeconds;
            var decodeBytes = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
            Console.WriteLine(string.Create(c, $"   {label,-26}: {decodeSeconds / decodes * 1e6,7:F2} us/event, {(double)decodeBytes / decodes,7:F0} managed bytes/event ({decodes} decodes, checksum {checksum})"));
        }
    }

    // 2. Backfill through the embedded cluster at batch --backfill-batch (256; a GPU wants far larger batches).
    // librdkafka's mock cluster keeps at most 5 MiB (and 100,000 records) per partition and drops the oldest
    // message sets beyond that, which moves the low watermark: with the catalog's 4 partitions only about 25,000
    // events survived, whatever was loaded. So the features topic gets enough partitions to hold every event.
    var beforeCluster = ThreadCpu.Tids();
    using var cluster = MockCluster.Start(1);
    // librdkafka names its threads rdk:main, rdk:broker... in every handle: the mock cluster's are told apart from
    // the clients' by being the ones that appeared when the cluster started.
    var clusterTids = ThreadCpu.Tids().Except(beforeCluster).ToHashSet();
    var kafka = new KafkaOptions { BootstrapServers = cluster.BootstrapServers, SessionTimeout = TimeSpan.FromSeconds(6) };
    kafka.Topics.Suffix = ".bench";
    var codec = new EventCodec();
    var eventBytes = codec.Serialize(ToEvent(build.Manifest.Features, rows[0], settings.BackfillRows, "heavy")).Length + 64;
    const long MockPartitionBudget = 4L * 1024 * 1024; // under the mock's 5 MiB, leaving room for batch overhead
    var featurePartitions = (int)Math.Max(kafka.Topics.All.Single(t => t.Name == kafka.Topics.Features).Partitions, ((long)settings.BackfillRows * eventBytes / MockPartitionBudget) + 1);
    featurePartitions = Math.Max(featurePartitions, (settings.BackfillRows / 90_000) + 1);
    foreach (var topic in kafka.Topics.All)
    {
        cluster.CreateTopic(topic.Name, topic.Name == kafka.Topics.Features ? featurePartitions : topic.Partitions, 1);
    }

    Console.WriteLine();
    Console.WriteLine(string.Create(c, $"2. Backfill through the embedded cluster ({settings.BackfillRows:N0} events of about {eventBytes} bytes on {kafka.Topics.Features} with {featurePartitions} partitions, batch {settings.BackfillBatch}, predictions to {kafka.Topics.Predictions}; {(settings.DecodeEvents ? "records decoded into FeatureEvents, then validated into the input" : "records decoded straight into input rows")})"));
    var produceStart = Stopwatch.GetTimestamp();
    using (var producer = new ProducerBuilder<byte[], byte[]>(WithThroughput(KafkaClientConfig.Producer(kafka, "bench-load"))).Build())
    {
        for (var i = 0; i < settings.BackfillRows; i++)
        {
            var ev = ToEvent(build.Manifest.Features, rows[i % rows.Length], i, "heavy");
            ProduceWithBackpressure(producer, kafka.Topics.Features, new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes(ev.EventId), Value = codec.Serialize(ev) });
        }

        producer.Flush(TimeSpan.FromSeconds(60));
    }

    Console.WriteLine(string.Create(c, $"   loaded {settings.BackfillRows:N0} events in {Stopwatch.GetElapsedTime(produceStart).TotalSeconds:F1} s"));
    // Raw and backfill alternate on the same model, provider and threads (raw before and after each backfill round),
    // so a change in the machine's load moves both; the ratio of each round is backfill / mean(raw before, raw after).
    var ratios = new List<double>();
    var rawCpuUsPerRow = new List<double>();
    var backfillCpuUsPerRow = new List<double>();
    var beforeSession = ThreadCpu.Tids();
    using (var session = ModelSession.Create(stored, settings.Session(settings.BackfillBatch), NullLogger.Instance))
    {
        // ONNX Runtime's intra-op pool threads are unnamed (they inherit the creating thread's name): they are the
        // threads the session's creation started.
        var ortTids = ThreadCpu.Tids().Except(beforeSession).ToHashSet();
        string Classify(int tid, string comm) => ortTids.Contains(tid) ? "onnxruntime intra-op pool"
            : clusterTids.Contains(tid) ? "librdkafka mock cluster (broker handle, " + (comm.StartsWith("rdk:", StringComparison.Ordinal) ? "rdk:*)" : "other)")
            : comm.StartsWith("rdk:", StringComparison.Ordinal) ? "librdkafka clients (reader consumer, predictions producer)"
            : comm.StartsWith("backfill ", StringComparison.Ordinal) || comm.StartsWith("bench ", StringComparison.Ordinal) ? comm
            : comm is ".NET BGC" or ".NET Server GC" or ".NET GC" ? ".NET GC"
            : comm.StartsWith(".NET", StringComparison.Ordinal) ? ".NET other (" + comm + ")"
            : "other (" + comm + ")";
        var rawGroups = new Dictionary<string, double>();
        var backfillGroups = new Dictionary<string, double>();
        long rawRows = 0, backfillRows = 0;
        static void AddTo(Dictionary<string, double> total, (Dictionary<string, double> Groups, double ProcessSeconds) sample)
        {
            foreach (var (group, seconds) in sample.Groups)
            {
                total[group] = total.GetValueOrDefault(group) + seconds;
            }

            total["(process total)"] = total.GetValueOrDefault("(process total)") + sample.ProcessSeconds;
        }

        // One session for both: the raw figure is this very session running pre-filled rows back to back.
        double Raw()
        {
            for (var r = 0; r < settings.BackfillBatch; r++)
            {
                Fill(session.InputRow(r), rows[r % rows.Length]);
            }

            var cpu = Cpu();
            using var sampler = ThreadCpuSampler.Start(Classify);
            // On its own named thread: after an await the bench goes on on whichever thread finished the backfill.
            var result = default((double RowsPerSecond, int Runs, double Seconds));
            var runner = new Thread(() => result = RawThroughput(session, settings.BackfillBatch, settings.RawSeconds)) { Name = "bench raw Run" };
            runner.Start();
            runner.Join();
            AddTo(rawGroups, sampler.Stop());
            rawRows += result.Runs * (long)settings.BackfillBatch;
            rawCpuUsPerRow.Add((Cpu() - cpu) * 1e6 / (result.Runs * (double)settings.BackfillBatch));
            return result.RowsPerSecond;
        }

        Console.WriteLine(string.Create(c, $"   {settings.WarmupRounds} warm-up round(s), then {settings.Rounds} rounds; batches in flight {settings.BatchesInFlight}; raw = RawThroughput at batch {settings.BackfillBatch} for {settings.RawSeconds:F0} s before and after each backfill, same session settings"));
        async Task<(BatchSummary Summary, double CpuUsPerRow, (Dictionary<string, double> Groups, double ProcessSeconds) Split)> Backfill()
        {
            using var range = new KafkaRange(kafka, kafka.Topics.Features);
            using var sinkTopic = new TopicPredictionSink(kafka, kafka.Topics.Predictions);
            var ranges = range.Partitions().Select(p => { var m = range.Watermarks(p); return new PartitionRange(p, m.Low.Value, m.High.Value); }).ToList();
            if (ranges.Sum(r => r.Count) != settings.BackfillRows || ranges.Any(r => r.From != 0))
            {
                throw new InvalidOperationException(string.Create(c, $"The cluster retained {ranges.Sum(r => r.Count):N0} of {settings.BackfillRows:N0} loaded events ({string.Join(", ", ranges)}); the backfill figure would not cover the load."));
            }

            var validator = new FeatureValidator(stored.Manifest, NonFinitePolicy.Reject, true);
            var scorer = new BackfillScorer(session, validator, "bench", settings.BatchesInFlight);
            var cpu = Cpu();
            using var sampler = ThreadCpuSampler.Start(Classify);
            var inputs = settings.DecodeEvents ? range.ReadAsync(ranges) : range.ReadAsync(ranges, session, validator);
            var summary = await scorer.RunAsync(inputs, sinkTopic).ConfigureAwait(false);
            var split = sampler.Stop();
            return (summary, (Cpu() - cpu) * 1e6 / summary.Rows, split);
        }

        // Warm-up rounds, not counted: the first backfills of a process run the managed path while the JIT tiers it
        // up (Tier0, then PGO-instrumented code, then Tier1), which cost 25-40 us/row more in the first two rounds
        // of 30,000 rows. Raw needs no such warm-up (native code) beyond its three runs.
        for (var warmup = 1; warmup <= settings.WarmupRounds; warmup++)
        {
            var (summary, cpuUsPerRow, _) = await Backfill().ConfigureAwait(false);
            Console.WriteLine(string.Create(c, $"   warm-up round {warmup} (not counted): backfill {summary.RowsPerSecond:N0} rows/s, process CPU {cpuUsPerRow:F1} us/row"));
        }

        var rawBefore = Raw();
        for (var round = 1; round <= settings.Rounds; round++)
        {
            var (summary, cpuUsPerRow, split) = await Backfill().ConfigureAwait(false);
            AddTo(backfillGroups, split);
            backfillRows += summary.Rows;
            backfillCpuUsPerRow.Add(cpuUsPerRow);

            var rawAfter = Raw();
            var ratio = summary.RowsPerSecond / ((rawBefore + rawAfter) / 2);
            ratios.Add(ratio);
            Console.WriteLine(string.Create(c, $"   round {round}: raw {rawBefore:N0} / backfill {summary.RowsPerSecond:N0} / raw {rawAfter:N0} rows/s -> ratio {ratio:F3}  (process CPU {backfillCpuUsPerRow[^1]:F1} us/row; {summary.Rows:N0} rows, {summary.Errors} errors, {summary.Elapsed.TotalSeconds:F2} s, inference {summary.InferenceTime / summary.Elapsed:P1} of the time)"));
            rawBefore = rawAfter;
        }

        // Where the backfill's CPU beyond raw goes: per thread group, us per row, summed over all rounds. The
        // residual is CPU of threads that ended between two 100 ms samples (and rounding of the two sources).
        Console.WriteLine("   CPU per row by thread group (us/row; raw | backfill | backfill - raw):");
        foreach (var group in rawGroups.Keys.Union(backfillGroups.Keys).Where(g => g != "(process total)").OrderByDescending(g => backfillGroups.GetValueOrDefault(g) / backfillRows))
        {
            var r = rawGroups.GetValueOrDefault(group) * 1e6 / rawRows;
            var b = backfillGroups.GetValueOrDefault(group) * 1e6 / backfillRows;
            if (Math.Max(r, b) >= 0.05)
            {
                Console.WriteLine(string.Create(c, $"     {group,-62} {r,7:F1} | {b,7:F1} | {b - r,7:+0.0;-0.0}"));
            }
        }

        double Residual(Dictionary<string, double> g, long n) => (g["(process total)"] - g.Where(kv => kv.Key != "(process total)").Sum(kv => kv.Value)) * 1e6 / n;
        var rawTotal = rawGroups["(process total)"] * 1e6 / rawRows;
        var backfillTotal = backfillGroups["(process total)"] * 1e6 / backfillRows;
        Console.WriteLine(string.Create(c, $"     {"(ended between samples / unattributed)",-62} {Residual(rawGroups, rawRows),7:F1} | {Residual(backfillGroups, backfillRows),7:F1}"));
        Console.WriteLine(string.Create(c, $"     {"process total",-62} {rawTotal,7:F1} | {backfillTotal,7:F1} | {backfillTotal - rawTotal,7:+0.0;-0.0}"));
    }

    ratios.Sort();
    var median = ratios[ratios.Count / 2];
    // CPU seconds of this whole process (ONNX Runtime, librdkafka and the in-process mock cluster) per row: unlike
    // rows/s it hardly moves when other programs take the cores, so it shows what the backfill costs beyond inference.
    Console.WriteLine(string.Create(c, $"   process CPU per row: raw {rawCpuUsPerRow.Average():F1} us, backfill {backfillCpuUsPerRow.Average():F1} us (the cores' ceiling on the ratio: {rawCpuUsPerRow.Average() / backfillCpuUsPerRow.Average():F3})"));
    Console.WriteLine(string.Create(c, $"   ratio to raw batch {settings.BackfillBatch}: median {median:F3}, min {ratios[0]:F3}, max {ratios[^1]:F3} over {ratios.Count} rounds (goal >= 0.9) -> {(median >= 0.9 ? "MET" : "NOT MET")}"));

    // 3. Streaming: the scorer service in-process at a fixed input rate; overhead = e2e - inference per prediction.
    foreach (var rate in settings.Rates)
    {
    Console.WriteLine();
    Console.WriteLine(string.Create(c, $"3. Streaming scorer at {rate} events/s for {settings.Seconds} s (batch {settings.Batch}, queue delay {settings.QueueDelayMs} ms, idle dispatch on, intra-op threads {(settings.StreamIntraOpThreads == 0 ? "default" : settings.StreamIntraOpThreads.ToString(c))})"));
    kafka.Topics.Suffix = ".bench-stream-" + rate.ToString(c);
    foreach (var topic in kafka.Topics.All)
    {
        cluster.CreateTopic(topic.Name, topic.Partitions, 1);
    }

    var app = ScorerApp.Build([
        $"--Kafka:BootstrapServers={cluster.BootstrapServers}", $"--Kafka:Topics:Suffix={kafka.Topics.Suffix}", "--Kafka:SessionTimeout=6s",
        $"--Scorer:ModelStorePath={Path.Combine(root, "models")}", "--Scorer:Models:0=heavy", $"--Scorer:BatchSize={settings.Batch}",
        $"--Scorer:QueueDelay={settings.QueueDelayMs}ms", $"--Scorer:IntraOpThreads={settings.StreamIntraOpThreads}", $"--Scorer:ExecutionProvider={settings.Provider}", $"--Scorer:CudaDeviceId={settings.CudaDevice}", "--Urls=http://127.0.0.1:0", "--Logging:LogLevel:Default=Warning",
    ]);
    await app.StartAsync().ConfigureAwait(false);
    try
    {
        var total = rate * settings.Seconds;
        var collected = new List<Prediction>(total);
        var consumerConfig = KafkaClientConfig.Consumer(kafka, "bench-reader", "bench-reader");
        using var consumer = new ConsumerBuilder<byte[], byte[]>(consumerConfig).Build();
        consumer.Subscribe(kafka.Topics.Predictions);
        using var producer = new ProducerBuilder<byte[], byte[]>(KafkaClientConfig.Producer(kafka, "bench-stream")).Build();
        // One probe event, and its prediction awaited, before the paced load: events produced before the scorer's
        // consumer has its partitions (about 3 s here) pile up and are worked off in FULL batches back to back, a
        // catch-up that is not the steady rate this section measures (it was a fifth of the predictions and all of
        // the overhead's p99 tail).
        var probe = ToEvent(build.Manifest.Features, rows[0], 0, "heavy");
        probe.EventId = "probe-" + probe.EventId;
        ProduceWithBackpressure(producer, kafka.Topics.Features, new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes(probe.EventId), Value = codec.Serialize(probe) });
        producer.Flush(TimeSpan.FromSeconds(30));
        var probeStart = Stopwatch.GetTimestamp();
        while (!(consumer.Consume(200)?.Message?.Value is { } probeValue && codec.Deserialize<Prediction>(probeValue).EventId == probe.EventId))
        {
            if (Stopwatch.GetElapsedTime(probeStart).TotalSeconds > 60)
            {
                throw new TimeoutException("The scorer did not score the probe event within 60 s.");
            }
        }

        Console.WriteLine(string.Create(c, $"   scorer consuming: the probe event's prediction came back after {Stopwatch.GetElapsedTime(probeStart).TotalSeconds:F1} s"));
        var readerTask = Task.Run(() =>
        {
            var deadline = DateTime.UtcNow.AddSeconds(settings.Seconds + 60);
            while (collected.Count < total && DateTime.UtcNow < deadline)
            {
                var record = consumer.Consume(200);
                if (record?.Message?.Value is { } value)
                {
                    collected.Add(codec.Deserialize<Prediction>(value));
                }
            }
        });

        // Open-loop pacing: event i is due at start + i / rate, whatever the scorer does.
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < total; i++)
        {
            var due = start + (long)(i * (double)Stopwatch.Frequency / rate);
            // Sleep (not spin) until due: a spinning load generator would take one of the cores the scorer needs.
            while (Stopwatch.GetTimestamp() is var now && now < due)
            {
                Thread.Sleep(TimeSpan.FromTicks(Math.Max(1, (due - now) * TimeSpan.TicksPerSecond / Stopwatch.Frequency)));
            }

            var ev = ToEvent(build.Manifest.Features, rows[i % rows.Length], i, "heavy");
            ev.EventId = "s-" + ev.EventId;
            ProduceWithBackpressure(producer, kafka.Topics.Features, new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes(ev.EventId), Value = codec.Serialize(ev) });
        }

        producer.Flush(TimeSpan.FromSeconds(30));
        await readerTask.ConfigureAwait(false);
        var ok = collected.Where(p => p.Status == PredictionStatus.OK).ToList();
        var overhead = ok.Select(p => (double)(p.Timing.E2eUs - p.Timing.InferenceUs)).Order().ToArray();
        var e2e = ok.Select(p => (double)p.Timing.E2eUs).Order().ToArray();
        var inference = ok.Select(p => (double)p.Timing.InferenceUs).Order().ToArray();
        var wait = ok.Select(p => (double)p.Timing.BatchWaitUs).Order().ToArray();
        var decode = ok.Select(p => (double)p.Timing.DecodeUs).Order().ToArray();
        var encode = ok.Select(p => (double)p.Timing.EncodeUs).Order().ToArray();
        Console.WriteLine(string.Create(c, $"   predictions: {collected.Count:N0} of {total:N0} ({ok.Count:N0} OK); mean batch {ok.Average(p => p.Timing.BatchSize):F2} rows; dispatch {string.Join(", ", ok.GroupBy(p => p.Timing.DispatchReason).Select(g => $"{g.Key} {g.Count()}"))}; provider in the predictions: {string.Join(", ", ok.GroupBy(p => p.ExecutionProvider).Select(g => $"{g.Key} {g.Count()}"))}"));
        Console.WriteLine(string.Create(c, $"   e2e        p50 {Pct(e2e, 50) / 1e3:F3} ms  p99 {Pct(e2e, 99) / 1e3:F3} ms"));
        Console.WriteLine(string.Create(c, $"   inference  p50 {Pct(inference, 50) / 1e3:F3} ms  p99 {Pct(inference, 99) / 1e3:F3} ms"));
        Console.WriteLine(string.Create(c, $"   decode     p50 {Pct(decode, 50) / 1e3:F3} ms  p99 {Pct(decode, 99) / 1e3:F3} ms"));
        Console.WriteLine(string.Create(c, $"   batch_wait p50 {Pct(wait, 50) / 1e3:F3} ms  p99 {Pct(wait, 99) / 1e3:F3} ms"));
        Console.WriteLine(string.Create(c, $"   encode     p50 {Pct(encode, 50) / 1e3:F3} ms  p99 {Pct(encode, 99) / 1e3:F3} ms  (end of the run to this row's hand-off)"));
        // Goal of issue #13: with idle dispatch the queue delay is a cap, not a floor, so the overhead above
        // inference stays within 2 ms at a light rate whatever the delay.
        var p99 = Pct(overhead, 99) / 1e3;
        const double goal = 2.0;
        Console.WriteLine(string.Create(c, $"   overhead (e2e - inference) p50 {Pct(overhead, 50) / 1e3:F3} ms  p99 {p99:F3} ms = {p99 / goal:F2} of the {goal:F1} ms goal -> {(p99 <= goal ? "MET" : "NOT MET")}"));
        // By dispatch reason: FULL batches come from a backlog (at this rate, the events produced before the scorer's
        // consumer had its partitions), run back to back, so their rows wait on the cores differently from DRAIN's.
        foreach (var reason in ok.GroupBy(p => p.Timing.DispatchReason).OrderByDescending(g => g.Count()))
        {
            var byReason = reason.Select(p => (double)(p.Timing.E2eUs - p.Timing.InferenceUs)).Order().ToArray();
            var encodeByReason = reason.Select(p => (double)p.Timing.EncodeUs).Order().ToArray();
            Console.WriteLine(string.Create(c, $"     {reason.Key,-8} {reason.Count(),6:N0} rows: overhead p50 {Pct(byReason, 50) / 1e3:F3} ms  p99 {Pct(byReason, 99) / 1e3:F3} ms; encode p99 {Pct(encodeByReason, 99) / 1e3:F3} ms"));
        }

        Console.WriteLine("   (percentiles are exact: computed from every prediction, no sketch)");
    }
    finally
    {
        await app.StopAsync().ConfigureAwait(false);
        await app.DisposeAsync().ConfigureAwait(false);
    }
    }

    return 0;
}
finally
{
    Directory.Delete(root, recursive: true);
}

// Rows per second of back-to-back runs of the first `batch` filled rows for at least `minSeconds` (3 warm-up runs first).
static (double RowsPerSecond, int Runs, double Seconds) RawThroughput(ModelSession session, int batch, double minSeconds)
{
    for (var i = 0; i < 3; i++)
    {
        session.Run(batch);
    }

    var runs = 0;
    var start = Stopwatch.GetTimestamp();
    while (runs < 5 || Stopwatch.GetElapsedTime(start).TotalSeconds < minSeconds)
    {
        session.Run(batch);
        runs++;
    }

    var seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
    return (batch * runs / seconds, runs, seconds);
}

static double Cpu() => System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;

static double Pct(double[] sorted, double p) => sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Length) - 1, 0, sorted.Length - 1)];

static void Fill(Span<float> row, double[] values)
{
    for (var j = 0; j < values.Length; j++)
    {
        row[j] = (float)values[j];
    }
}

static FeatureEvent ToEvent(IReadOnlyList<string> features, double[] row, int i, string model)
{
    var ev = new FeatureEvent { EventId = "e-" + i.ToString("D8", CultureInfo.InvariantCulture), ModelName = model, EntityId = "patient-" + (i % 500).ToString(CultureInfo.InvariantCulture), EventTimeMs = 1_700_000_000_000 + i };
    for (var j = 0; j < features.Count; j++)
    {
        ev.Features[features[j]] = row[j];
    }

    return ev;
}

static ProducerConfig WithThroughput(ProducerConfig config)
{
    config.LingerMs = 20;
    config.BatchSize = 1_000_000;
    config.QueueBufferingMaxMessages = 1_000_000;
    return config;
}

static void ProduceWithBackpressure(IProducer<byte[], byte[]> producer, string topic, Message<byte[], byte[]> message)
{
    while (true)
    {
        try
        {
            producer.Produce(topic, message);
            return;
        }
        catch (ProduceException<byte[], byte[]> ex) when (ex.Error.Code == ErrorCode.Local_QueueFull)
        {
            producer.Poll(TimeSpan.FromMilliseconds(20));
        }
    }
}

static string FindData()
{
    var dir = new DirectoryInfo(AppContext.BaseDirectory);
    while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "data", "breast_cancer_wisconsin.csv")))
    {
        dir = dir.Parent;
    }

    return dir is null ? throw new FileNotFoundException("data/breast_cancer_wisconsin.csv not found above " + AppContext.BaseDirectory) : Path.Combine(dir.FullName, "data", "breast_cancer_wisconsin.csv");
}

/// <summary>Benchmark parameters from the command line.</summary>
internal sealed record BenchSettings(int[] Hidden, int Epochs, double RawSeconds, int BackfillRows, int BackfillBatch, int WarmupRounds, int Rounds, int BatchesInFlight, int[] Rates, int Seconds, int Batch,
    int QueueDelayMs, int StreamIntraOpThreads, ExecutionProviderChoice Provider, int CudaDevice, bool DecodeEvents)
{
    /// <summary>Session settings for the raw and backfill figures, on the provider asked for.</summary>
    public SessionSettings Session(int maxBatchRows) => new() { MaxBatchRows = maxBatchRows, Provider = Provider, DeviceId = CudaDevice };

    public static BenchSettings Parse(string[] args)
    {
        string Get(string name, string fallback)
        {
            var i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
        }

        int Int(string name, int fallback) => int.Parse(Get(name, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
        return new BenchSettings(
            Get("--hidden", "1024,1024,1024").Split(',').Select(w => int.Parse(w, CultureInfo.InvariantCulture)).ToArray(),
            Int("--epochs", 1),
            double.Parse(Get("--raw-seconds", "3"), CultureInfo.InvariantCulture),
            Int("--backfill-rows", 30_000),
            Int("--backfill-batch", 256),
            Int("--warmup-rounds", 2),
            Int("--rounds", 3),
            Int("--batches-in-flight", 2),
            Get("--rate", "300") is "none" ? [] : Get("--rate", "300").Split(',').Select(r => int.Parse(r, CultureInfo.InvariantCulture)).ToArray(),
            Int("--seconds", 15),
            Int("--batch", 64),
            Int("--queue-delay-ms", 5),
            Int("--stream-intra-op-threads", 0),
            Enum.Parse<ExecutionProviderChoice>(Get("--execution-provider", "auto"), ignoreCase: true),
            Int("--cuda-device", 0),
            args.Contains("--decode-events"));
    }
}
