using Confluent.Kafka;
using StreamMonitor.Aggregator.Latency;
using StreamMonitor.Aggregator.Topology;
using StreamMonitor.Analytics.Latency;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.Validation;
using StreamMonitor.Kafka;
using StreamMonitor.Streams;
using StreamMonitor.Testing;

namespace StreamMonitor.Aggregator.Tests;

/// <summary>Records every output of a task, as the topics would hold them.</summary>
public sealed class RecordingOutput : ITaskOutput
{
    public List<(string Topic, int? Partition, byte[] Key, byte[] Value)> Records { get; } = [];

    public void Send(string topic, int? partition, byte[] key, byte[] value) => Records.Add((topic, partition, key, value));
}

/// <summary>
/// Drives stage A and stage B in memory with the same task classes the service runs, moving partial records between
/// them as the partials topic would (per partition, in order). Optionally "crashes" tasks: snapshots at a random
/// point, discards everything after it, restores and replays, exactly like a restart from a checkpoint.
/// </summary>
public sealed class InMemoryPipeline
{
    private readonly TopicCatalog _topics = new();
    private readonly EventCodec _codec = new();

    public InMemoryPipeline(AggregatorOptions options)
    {
        Options = options;
        Topology = new LatencyTopology(Inputs(_codec), _codec, options.EffectiveSliThresholdsUs, _topics);
        Stage = new StageSettings(options.WindowSpecs(), options.GraceMs, options.IdleTimeoutMs, _topics);
        Merge = new MergeSettings(options.GraceMs, options.MergeGraceMs, options.MergeRetentionMs, _topics.DeadLetter);
    }

    public AggregatorOptions Options { get; }

    public LatencyTopology Topology { get; }

    public StageSettings Stage { get; }

    public MergeSettings Merge { get; }

    public TopicCatalog Topics => _topics;

    public EventCodec Codec => _codec;

    /// <summary>Runs stage A over per-partition predictions, then stage B; returns every output of stage B in order.</summary>
    public List<(string Topic, byte[] Key, byte[] Value)> Run(IReadOnlyList<IReadOnlyList<Prediction>> partitions, int? crashSeed = null)
    {
        var partials = new List<(int Partition, byte[] Key, byte[] Value)>();
        var random = crashSeed is { } seed ? new Random(seed) : null;
        for (var p = 0; p < partitions.Count; p++)
        {
            var records = partitions[p].Select((prediction, offset) => Record(_topics.Predictions, p, offset, _codec.Serialize(prediction))).ToList();
            var output = RunTask(
                state => new WindowStageTask<LatencyAggregate>(Topology, Stage, new TopicPartition(_topics.Predictions, p), state, _codec),
                records,
                random);
            foreach (var record in output)
            {
                if (record.Topic == _topics.WindowPartials)
                {
                    partials.Add((record.Partition!.Value, record.Key, record.Value));
                }
            }
        }

        var results = new List<(string Topic, byte[] Key, byte[] Value)>();
        for (var p = 0; p < _topics.ResultPartitions; p++)
        {
            var records = partials.Where(r => r.Partition == p).Select((r, offset) => Record(_topics.WindowPartials, p, offset, r.Value, r.Key)).ToList();
            var progress = new ProgressBoard();
            var output = RunTask(state => new MergeStageTask([Topology], Merge, state, _codec, progress), records, random);
            results.AddRange(output.Select(o => (o.Topic, o.Key, o.Value)));
        }

        return results;
    }

    /// <summary>Last value per key on the latency result topic, decoded.</summary>
    public Dictionary<string, LatencyWindowResult> LatestResults(IEnumerable<(string Topic, byte[] Key, byte[] Value)> outputs) =>
        outputs.Where(o => o.Topic == _topics.LatencyResults)
            .GroupBy(o => System.Text.Encoding.UTF8.GetString(o.Key))
            .ToDictionary(g => g.Key, g => _codec.Deserialize<LatencyWindowResult>(g.Last().Value));

    public static List<(string Topic, int? Partition, byte[] Key, byte[] Value)> RunTask(Func<byte[]?, IPartitionTask> create, List<ConsumeResult<byte[], byte[]>> records, Random? crashes) =>
        RunTask((state, _) => create(state), records, crashes);

    /// <summary>
    /// Runs a task over its records; with <paramref name="crashes"/>, checkpoints at random points and "kills" it up to
    /// three times, restarting from the last checkpoint. An <see cref="IChangelogTask"/> writes its changes to a
    /// simulated changelog partition as the processor does (<see cref="ChangelogPartition"/>); some kills land between
    /// the changelog write and the checkpoint, and a restart sees the changelog compacted or not, as Kafka may.
    /// </summary>
    public static List<(string Topic, int? Partition, byte[] Key, byte[] Value)> RunTask(Func<byte[]?, IReadOnlyDictionary<string, byte[]>, IPartitionTask> create, List<ConsumeResult<byte[], byte[]>> records, Random? crashes)
    {
        var output = new RecordingOutput();
        var changelogTopic = new List<ChangelogRecord>();
        var changelog = ChangelogPartition.Empty();
        var task = create(null, new Dictionary<string, byte[]>(StringComparer.Ordinal));
        byte[]? checkpointState = null;
        long committed = 0;
        var checkpointOffset = 0;
        var crashesLeft = crashes is null ? 0 : 3;

        void Restart()
        {
            crashesLeft--;
            if (crashes!.Next(2) == 0)
            {
                changelogTopic = LogCompaction.Compact(changelogTopic);
            }

            changelog = ChangelogPartition.Restore(changelogTopic, committed, out var entries, out var cleanup);
            changelogTopic.AddRange(cleanup);
            task = create(checkpointState, entries);
        }

        for (var i = 0; i < records.Count; i++)
        {
            task.Process(records[i], output);
            if (crashes is not null && crashes.NextDouble() < 0.01)
            {
                var generation = changelog.Generation;
                if (task is IChangelogTask stateful)
                {
                    (generation, var written) = changelog.Stage(stateful.TakeChanges());
                    changelogTopic.AddRange(written);
                    if (crashesLeft > 0 && crashes.NextDouble() < 0.2)
                    {
                        // kill -9 after the changelog write, before the checkpoint: that generation never commits.
                        Restart();
                        i = checkpointOffset - 1;
                        continue;
                    }
                }

                checkpointState = task.Snapshot();
                committed = generation;
                checkpointOffset = i + 1;
                changelogTopic.AddRange(changelog.Commit());
            }

            if (crashesLeft > 0 && crashes!.NextDouble() < 0.003)
            {
                // kill -9: outputs after the checkpoint stay on the topics (they were produced), state is lost.
                Restart();
                i = checkpointOffset - 1;
            }
        }

        return output.Records;
    }

    /// <summary>The aggregator's source over the default record policy.</summary>
    public static InputRecords Inputs(EventCodec codec) => new(new RecordPolicy(codec));

    public static ConsumeResult<byte[], byte[]> Record(string topic, int partition, long offset, byte[] value, byte[]? key = null) => new()
    {
        Topic = topic,
        Partition = partition,
        Offset = offset,
        Message = new Message<byte[], byte[]> { Key = key ?? [], Value = value },
    };
}
