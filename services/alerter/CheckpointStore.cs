using System.IO.Compression;
using System.Text.Json;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using StreamMonitor.Alerter.Notifications;
using StreamMonitor.Contracts;
using StreamMonitor.Kafka;
using StreamMonitor.Slo;

namespace StreamMonitor.Alerter;

/// <summary>Evaluator and notifier state together: what a checkpoint restores.</summary>
public sealed class AlerterState
{
    /// <summary>Evaluator state (windows, alerts, rules).</summary>
    public EvaluatorState Evaluator { get; set; } = new();

    /// <summary>Notification groups and what was notified.</summary>
    public NotifierState Notifier { get; set; } = new();

#pragma warning disable CA2227 // Checkpoint DTO serialised as JSON.
    /// <summary>Newest window end seen per input partition ("topic[partition]"); the topic names the lane's group.</summary>
    public Dictionary<string, long> Lanes { get; set; } = [];

    /// <summary>Each tick group's watermark when the checkpoint was taken.</summary>
    public Dictionary<TickGroup, long>? GroupWatermarksMs { get; set; }
#pragma warning restore CA2227

    /// <summary>
    /// The single cross-partition watermark that checkpoints written before per-group watermarks carry (never written
    /// now): every group then starts from it, which is exactly where that alerter's ticks stood.
    /// </summary>
    public long? WatermarkMs { get; set; }

    /// <summary>
    /// Restores the watermarks: each lane to the group of its topic (<paramref name="topics"/>; a lane of a topic no
    /// longer read is dropped), each group at its checkpointed watermark, or at the single watermark of an older checkpoint.
    /// </summary>
    public void RestoreWatermarks(GroupWatermarks watermarks, TopicCatalog topics)
    {
        ArgumentNullException.ThrowIfNull(watermarks);
        ArgumentNullException.ThrowIfNull(topics);
        watermarks.Restore(Lanes, lane => InputGroups.Of(topics, lane[..Math.Max(0, lane.LastIndexOf('['))]), WatermarkOf);
    }

    private long? WatermarkOf(TickGroup group) =>
        GroupWatermarksMs is { } groups ? (groups.TryGetValue(group, out var ms) ? ms : null) : WatermarkMs;
}

/// <summary>Which tick group reads which input topic.</summary>
public static class InputGroups
{
    /// <summary>The tick group whose SLOs and rules read <paramref name="topic"/>; null for a topic the alerter does not read.</summary>
    public static TickGroup? Of(TopicCatalog topics, string topic)
    {
        ArgumentNullException.ThrowIfNull(topics);
        return topic == topics.LatencyResults ? TickGroup.Latency
            : topic == topics.DriftResults ? TickGroup.Drift
            : topic == topics.QualityResults ? TickGroup.Quality
            : null;
    }
}

/// <summary>
/// Reads and writes <see cref="AlerterCheckpoint"/> records on the alerter checkpoint topic: the state (gzip JSON)
/// and the input offsets it reflects in one record, keyed by evaluator id, so both are restored together without
/// Kafka transactions. The newest record (highest sequence) of the evaluator wins.
/// </summary>
public sealed class CheckpointStore(KafkaOptions kafka, EventCodec codec, string evaluatorId, ILogger logger)
{
    /// <summary>Encoding of <see cref="AlerterCheckpoint.State"/>.</summary>
    public const string StateFormat = "json+gzip/2";

    private static readonly JsonSerializerOptions Json = new() { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };

    /// <summary>Reads the checkpoint topic to its end and returns the newest checkpoint of this evaluator, or null.</summary>
    public (AlerterCheckpoint Checkpoint, AlerterState State)? LoadLatest(TimeSpan timeout)
    {
        var topic = kafka.Topics.AlerterCheckpoints;
        using var consumer = new ConsumerBuilder<byte[], byte[]>(KafkaClientConfig.Consumer(kafka, $"{evaluatorId}-checkpoint-reader", $"{evaluatorId}-checkpoint-reader")).Build();
        AlerterCheckpoint? best = null;
        var deadline = DateTime.UtcNow + timeout;
        for (var partition = 0; partition < kafka.Topics.ResultPartitions; partition++)
        {
            PartitionRangeReader.ReadAll(consumer, new TopicPartition(topic, partition), deadline, result =>
            {
                if (result.Message.Value is not { } value)
                {
                    return;
                }

                if (!codec.TryDeserialize<AlerterCheckpoint>(value, out var checkpoint, out var error))
                {
                    logger.LogWarning("Skipping undecodable checkpoint at {Topic}[{Partition}]@{Offset}: {Reason}", result.Topic, result.Partition.Value, result.Offset.Value, error!.Message);
                }
                else if (checkpoint!.EvaluatorId == evaluatorId && (best is null || checkpoint.Sequence > best.Sequence))
                {
                    best = checkpoint;
                }
            });
        }

        if (best is null)
        {
            return null;
        }

        if (best.StateFormat != StateFormat)
        {
            throw new InvalidOperationException($"Checkpoint {best.Sequence} of {evaluatorId} has state format '{best.StateFormat}', expected '{StateFormat}'.");
        }

        using var input = new GZipStream(new MemoryStream(best.State), CompressionMode.Decompress);
        var state = JsonSerializer.Deserialize<AlerterState>(input, Json) ?? throw new InvalidOperationException("Empty checkpoint state.");
        return (best, state);
    }

    /// <summary>Builds the checkpoint record.</summary>
    public AlerterCheckpoint Build(long sequence, AlerterState state, IEnumerable<TopicPartitionOffset> offsets, long wallClockMs)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true))
        {
            JsonSerializer.Serialize(gzip, state, Json);
        }

        return new AlerterCheckpoint
        {
            EvaluatorId = evaluatorId,
            Sequence = sequence,
            WrittenAtMs = wallClockMs,
            StateFormat = StateFormat,
            State = buffer.ToArray(),
            Offsets = [.. offsets.Select(o => new CheckpointOffset { Topic = o.Topic, Partition = o.Partition.Value, Offset = o.Offset.Value })],
        };
    }
}
