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
        Stage = options.ToStageSettings(_topics);
        Merge = options.ToMergeSettings(_topics);
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
            var records = partitions[p].Select((prediction, offset) => TaskDriver.Record(_topics.Predictions, p, offset, _codec.Serialize(prediction))).ToList();
            var output = TaskDriver.Run(
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
            var records = partials.Where(r => r.Partition == p).Select((r, offset) => TaskDriver.Record(_topics.WindowPartials, p, offset, r.Value, r.Key)).ToList();
            var progress = new ProgressBoard();
            var output = TaskDriver.Run(state => new MergeStageTask([Topology], Merge, state, _codec, progress), records, random);
            results.AddRange(output.Select(o => (o.Topic, o.Key, o.Value)));
        }

        return results;
    }

    /// <summary>Last value per key on the latency result topic, decoded.</summary>
    public Dictionary<string, LatencyWindowResult> LatestResults(IEnumerable<(string Topic, byte[] Key, byte[] Value)> outputs) =>
        outputs.Where(o => o.Topic == _topics.LatencyResults)
            .GroupBy(o => System.Text.Encoding.UTF8.GetString(o.Key))
            .ToDictionary(g => g.Key, g => _codec.Deserialize<LatencyWindowResult>(g.Last().Value));

    /// <summary>The aggregator's source over the default record policy.</summary>
    public static InputRecords Inputs(EventCodec codec) => new(new RecordPolicy(codec));
}
