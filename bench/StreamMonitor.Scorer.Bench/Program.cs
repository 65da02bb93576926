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
using static BenchSupport;

// Scorer benchmark. Prints figures and ratios against their baselines; asserts nothing (speed goals live here,
// not in timed tests). Usage: dotnet run -c Release --project bench/StreamMonitor.Scorer.Bench [-- --hidden 1024,1024,1024
//   --backfill-rows 30000 --backfill-batch 256 --warmup-rounds 6 --rounds 3 --batches-in-flight 2 --rate 300[,1500]|none --seconds 15 --batch 64 --queue-delay-ms 5 --intra-op-threads 0 --stream-intra-op-threads 0 --execution-provider auto|cpu|cuda --cuda-device 0 --decode-events]
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
        Console.WriteLine($"   execution provider: {session.ExecutionProvider} (asked for: {settings.Provider.ToString().ToLowerInvariant()}); intra-op threads {settings.Session(1).EffectiveIntraOpThreads}");
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
    var rawRowsPerSecond = new List<double>();
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
            rawRowsPerSecond.Add(result.RowsPerSecond);
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
        // up (Tier0, then PGO-instrumented code, then Tier1): on a quiet machine the process CPU per row fell from 52.8
        // to 39.5 us over six rounds of 30,000 rows, the JIT thread's share from 2.4 to 0.7 us/row. A long backfill
        // runs at the end of that ramp. Raw needs no such warm-up (native code) beyond its three runs.
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
    // The cores' ceiling: all the machine's cores spent at the backfill's CPU per row, against raw's wall time per row.
    // Raw with one intra-op thread leaves the other cores idle, so the ceiling can be above 1 (the cores are not the limit).
    var ceiling = Environment.ProcessorCount * 1e6 / rawRowsPerSecond.Average() / backfillCpuUsPerRow.Average();
    Console.WriteLine(string.Create(c, $"   process CPU per row: raw {rawCpuUsPerRow.Average():F1} us, backfill {backfillCpuUsPerRow.Average():F1} us; the cores' ceiling on the ratio ({Environment.ProcessorCount} cores at the backfill's CPU per row against raw's {1e6 / rawRowsPerSecond.Average():F1} us of wall time per row): {ceiling:F3}"));
    Console.WriteLine(string.Create(c, $"   ratio to raw batch {settings.BackfillBatch}: median {median:F3}, min {ratios[0]:F3}, max {ratios[^1]:F3} over {ratios.Count} rounds (goal >= 0.9) -> {(median >= 0.9 ? "MET" : "NOT MET")}"));

    // 3. Streaming: the scorer service in-process at a fixed input rate; overhead = e2e - inference per prediction.
    foreach (var rate in settings.Rates)
    {
        await StreamingSection.RunAsync(settings, rate, cluster, kafka, build.Manifest.Features, rows, Path.Combine(root, "models")).ConfigureAwait(false);
    }

    return 0;
}
finally
{
    Directory.Delete(root, recursive: true);
}
