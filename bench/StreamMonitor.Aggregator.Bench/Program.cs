using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;
using StreamMonitor.Aggregator;
using StreamMonitor.Aggregator.Drift;
using StreamMonitor.Aggregator.Latency;
using StreamMonitor.Aggregator.Quality;
using StreamMonitor.Aggregator.Topology;
using StreamMonitor.Analytics.Drift;
using StreamMonitor.Analytics.Latency;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.State;
using StreamMonitor.Contracts.Validation;
using StreamMonitor.Kafka;
using StreamMonitor.Streams;

// Single-threaded figures (one task = one core): the aggregator scales by partitions across cores and instances.
// Baseline: Avro decoding alone, the floor cost of reading a record; the ratio shows what windowing adds.
// Arguments: [events] [--merge-only] (stop after stage B: its figure alone, in a process that ran only latency stage A).
var events = args.Length > 0 && int.TryParse(args[0], CultureInfo.InvariantCulture, out var requested) ? requested : 400_000;
var codec = new EventCodec();

// The service's source: decode and validate with the record policy (the bench's records carry no Kafka timestamp).
var inputs = new InputRecords(new RecordPolicy(codec));
var topics = new TopicCatalog();
var stage = new StageSettings([WindowSpec.Tumbling(TimeSpan.FromSeconds(10)), WindowSpec.Tumbling(TimeSpan.FromMinutes(1))], 5_000, 30_000, topics);
var random = new Random(1);
const long start = 1_763_800_000_000;

var predictions = Enumerable.Range(0, events).Select(i => codec.Serialize(new Prediction
{
    EventId = "e" + i.ToString(CultureInfo.InvariantCulture),
    ModelName = "fraud",
    ModelVersion = (i % 3).ToString(CultureInfo.InvariantCulture),
    EventTimeMs = start + (i / 10) - random.Next(0, 500),
    Score = random.NextDouble(),
    Timing = new PredictionTiming
    {
        KafkaQueueUs = random.Next(100, 5_000),
        DecodeUs = random.Next(5, 50),
        BatchWaitUs = random.Next(0, 2_000),
        BatchSize = random.Next(1, 64),
        InferenceUs = (long)Math.Exp(7 + random.NextDouble() * 3),
        EncodeUs = random.Next(3, 30),
        E2eUs = random.Next(1_000, 100_000),
    },
})).ToArray();

var profile = ProfileBuilder.FromCsv(Path.Combine(AppContext.BaseDirectory, "breast_cancer_wisconsin.csv"), "cancer", ["label"]);
var features = Enumerable.Range(0, events / 4).Select(i => codec.Serialize(new FeatureEvent
{
    EventId = "f" + i.ToString(CultureInfo.InvariantCulture),
    ModelName = "cancer",
    EventTimeMs = start + (i / 3),
    Features = profile.Numeric.ToDictionary(f => f.Name, f => (double?)(f.Mean + (f.Std * (random.NextDouble() - 0.5) * 3))),
})).ToArray();

Console.WriteLine($"StreamMonitor aggregator benchmark ({Environment.ProcessorCount} cores, {events} predictions, {features.Length} feature events of {profile.Numeric.Count} features)");
Console.WriteLine();

var decodeRate = Measure("baseline: Avro decode of a prediction", predictions.Length, () =>
{
    foreach (var bytes in predictions)
    {
        codec.Deserialize<Prediction>(bytes);
    }
});

var latency = new LatencyTopology(inputs, codec, [50_000, 100_000, 250_000, 1_000_000], topics);
var output = new CountingOutput();
WindowStageTask<LatencyAggregate>? latencyTask = null;
var latencyRate = Measure("latency stage A (decode + 2 windows + 6 histograms + SLIs)", predictions.Length, () =>
{
    latencyTask = new WindowStageTask<LatencyAggregate>(latency, stage, new TopicPartition(topics.Predictions, 0), null, codec);
    Feed(latencyTask, predictions, topics.Predictions, output);
});
Console.WriteLine($"    ratio to decode baseline: {latencyRate / decodeRate:F2}; partials emitted: {output.Count}");

// Merge: 4 source partitions' partials per latency window, with the exact percentile computation of the result.
var partialState = latencyTask!.Snapshot();
var aggregates = latencyTask.Table.Panes.ToList();
var encoded = aggregates.Select(a =>
{
    using var buffer = new MemoryStream();
    using (var writer = new BinaryWriter(buffer))
    {
        LatencyAggregate.Codec.WriteVersioned(writer, a);
    }

    return buffer.ToArray();
}).ToList();
var mergeRate = Measure("stage B: merge 4 partials + build a latency result", 2_000, () =>
{
    for (var i = 0; i < 2_000; i++)
    {
        latency.Build(new WindowKey(WindowKind.Latency, "fraud", "1", start, 10_000), [encoded[i % encoded.Count], encoded[(i + 1) % encoded.Count], encoded[(i + 2) % encoded.Count], encoded[(i + 3) % encoded.Count]]);
    }
});
Console.WriteLine($"    = {mergeRate * 4:N0} partials/s; checkpoint of the stage A task: {partialState.Length / 1024.0:F1} KiB");
if (args.Contains("--merge-only"))
{
    return;
}

var featureDecodeRate = Measure("baseline: Avro decode of a 30-feature event", features.Length, () =>
{
    foreach (var bytes in features)
    {
        codec.Deserialize<FeatureEvent>(bytes);
    }
});
var drift = new DriftTopology(inputs, codec, new Dictionary<string, ReferenceProfile> { ["cancer"] = profile }, new DriftThresholds(), topics);
var driftRate = Measure("drift stage A (decode + 2 windows + 30 numeric features)", features.Length, () =>
{
    var task = new WindowStageTask<ModelDriftAggregate>(drift, stage, new TopicPartition(topics.Features, 0), null, codec);
    Feed(task, features, topics.Features, output);
});
Console.WriteLine($"    ratio to decode baseline: {driftRate / featureDecodeRate:F2}");

// Quality: predictions and their labels (90 % labeled, delay 1 s..2 min of event time, label topic in label-time order),
// ordered by the two-lane event-time merge and joined, with the service's default quality settings (1 m window, 7 d horizon).
var qualitySettings = new QualityOptions().ToSettings(topics);
var qualityFactory = new QualityProcessor(qualitySettings, inputs, codec);
var labels = Enumerable.Range(0, events).Where(i => i % 10 != 0).Select(i =>
{
    var prediction = codec.Deserialize<Prediction>(predictions[i]);
    return new Label { EventId = prediction.EventId, ModelName = "fraud", Value = random.Next(2), LabelTimeMs = prediction.EventTimeMs + random.Next(1_000, 120_000) };
}).OrderBy(l => l.LabelTimeMs).Select(l => codec.Serialize(l)).ToArray();
var qualityRecords = predictions.Length + labels.Length;
var noChangelog = new Dictionary<string, byte[]>(StringComparer.Ordinal);
EventTimeMerge QualityMerge()
{
    var merge = new EventTimeMerge(2, qualityRecords);
    foreach (var (lane, topic, records) in new[] { (0, topics.Predictions, predictions), (1, topics.Labels, labels) })
    {
        for (var i = 0; i < records.Length; i++)
        {
            var record = new ConsumeResult<byte[], byte[]> { Topic = topic, Partition = 0, Offset = i, Message = new Message<byte[], byte[]> { Key = [], Value = records[i] } };
            merge.Add(lane, record, qualityFactory.EventTimeOf(lane, record));
        }

        merge.MarkEnd(lane);
    }

    return merge;
}

var qualityRate = Measure("quality stage A (2-lane event-time merge + decode + join)", qualityRecords, () =>
{
    var merge = QualityMerge();
    var task = qualityFactory.Create(0, null, noChangelog);
    while (merge.TryNext(out _, out var next))
    {
        task.Process(next, output);
    }
});
Console.WriteLine($"    ratio to decode baseline: {qualityRate / decodeRate:F2} ({predictions.Length} predictions + {labels.Length} labels; each record is decoded once, for its merge time, and the join reuses it)");

// The same run checkpointing every CheckpointEveryRecords records (the service default), as the processor does: the
// changelog records each checkpoint writes (changed entries, then tombstones of superseded ones) and what stays live.
var checkpointEvery = new AggregatorOptions().CheckpointEveryRecords;
var changelog = ChangelogPartition.Empty();
var stateful = (IChangelogTask)qualityFactory.Create(0, null, noChangelog);
var liveBytes = new Dictionary<string, int>(StringComparer.Ordinal);
long changelogBytes = 0, changelogRecords = 0, checkpoints = 0, handed = 0, largestCheckpoint = 0;
void Checkpoint()
{
    var (_, written) = changelog.Stage(stateful.TakeChanges());
    foreach (var record in written.Concat(changelog.Commit()))
    {
        changelogBytes += record.Key.Length + (record.Value?.Length ?? 0);
        changelogRecords++;
        var (key, _) = ChangelogPartition.DecodeKey(record.Key);
        if (record.Value is { Length: > 1 } value)
        {
            liveBytes[key] = record.Key.Length + value.Length;
        }
        else if (record.Value is not null)
        {
            liveBytes.Remove(key);
        }
    }

    largestCheckpoint = Math.Max(largestCheckpoint, stateful.Snapshot().Length);
    checkpoints++;
}

var changelogMerge = QualityMerge();
while (changelogMerge.TryNext(out _, out var next))
{
    stateful.Process(next, output);
    if (++handed % checkpointEvery == 0)
    {
        Checkpoint();
    }
}

Checkpoint();
Console.WriteLine($"    checkpoint every {checkpointEvery} records: the checkpoint record is at most {largestCheckpoint} B (state size does not matter); the changelog got {changelogRecords:N0} records, {changelogBytes / 1048576.0:F1} MiB = {changelogBytes / (double)qualityRecords:F0} B per input record over {checkpoints:N0} checkpoints");
Console.WriteLine($"    live at the end (7 d horizon: every prediction still remembered): {changelog.LiveEntries:N0} entries, {liveBytes.Values.Sum() / 1048576.0:F1} MiB = {liveBytes.Values.Sum() / (double)predictions.Length:F0} B per prediction within the horizon");

Console.WriteLine();
Console.WriteLine("Memory per open window (one key, one pane), retained managed bytes:");
Console.WriteLine($"  latency aggregate (6 HdrHistograms, 2 significant digits, 1 µs..1 h): {RetainedBytes(() => Fill(latency.Create())):N0} B");
Console.WriteLine($"  drift aggregate ({profile.Numeric.Count} numeric features x {profile.Numeric[0].Cells + 2} cells): {RetainedBytes(() => { var a = new DriftAggregate(profile); a.Numeric[0].Add(profile.Numeric[0], 1); return a; }):N0} B");
Console.WriteLine($"  encoded latency partial (compressed histograms): {encoded.Average(e => e.Length) / 1024.0:F1} KiB on average");

static double Measure(string name, int count, Action action)
{
    action(); // warm-up (JIT tiers)
    var best = TimeSpan.MaxValue;
    for (var run = 0; run < 5; run++)
    {
        // Each run starts from a collected heap, so a stage is not charged for collecting the garbage of the one before.
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();

        // Best of five: the machine is shared, the fastest run is the least disturbed one.
        var stopwatch = Stopwatch.StartNew();
        action();
        stopwatch.Stop();
        best = stopwatch.Elapsed < best ? stopwatch.Elapsed : best;
    }

    var rate = count / best.TotalSeconds;
    Console.WriteLine($"  {name,-62} {rate,14:N0} /s per core");
    return rate;
}

static void Feed(IPartitionTask task, byte[][] records, string topic, ITaskOutput output)
{
    var result = new ConsumeResult<byte[], byte[]> { Topic = topic, Partition = 0, Message = new Message<byte[], byte[]> { Key = [] } };
    for (var i = 0; i < records.Length; i++)
    {
        result.Offset = i;
        result.Message.Value = records[i];
        task.Process(result, output);
    }
}

static LatencyAggregate Fill(LatencyAggregate aggregate)
{
    aggregate.Add(new Prediction { Timing = new PredictionTiming { E2eUs = 1_000, InferenceUs = 500, BatchSize = 1 } });
    return aggregate;
}

static long RetainedBytes(Func<object> create)
{
    const int n = 200;
    var keep = new object[n];
    GC.Collect();
    GC.WaitForPendingFinalizers();
    GC.Collect();
    var before = GC.GetTotalMemory(true);
    for (var i = 0; i < n; i++)
    {
        keep[i] = create();
    }

    var after = GC.GetTotalMemory(true);
    GC.KeepAlive(keep);
    return (after - before) / n;
}

/// <summary>Counts outputs instead of producing them.</summary>
internal sealed class CountingOutput : ITaskOutput
{
    public long Count { get; private set; }

    public void Send(string topic, int? partition, byte[] key, byte[] value) => Count++;
}
