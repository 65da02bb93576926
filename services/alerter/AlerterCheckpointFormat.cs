using System.IO.Compression;
using System.Text.Json;
using Confluent.Kafka;
using StreamMonitor.Alerter.Notifications;
using StreamMonitor.Contracts;
using StreamMonitor.Kafka;
using StreamMonitor.Slo;
using StreamMonitor.Streams;

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
/// The alerter's records on its checkpoint topic (a <see cref="CheckpointStore"/> keyed by evaluator id): an
/// <see cref="AlerterCheckpoint"/> holding the state (gzip JSON) and the input offsets it reflects, so both are restored
/// together without Kafka transactions.
/// </summary>
public sealed class AlerterCheckpointFormat(EventCodec codec, string evaluatorId)
{
    /// <summary>Encoding of <see cref="AlerterCheckpoint.State"/>.</summary>
    public const string StateFormat = "json+gzip/2";

    private static readonly JsonSerializerOptions Json = new() { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };

    /// <summary>Decodes a checkpoint record of this evaluator.</summary>
    /// <exception cref="InvalidDataException">The record is not a readable checkpoint of this evaluator: restoring
    /// nothing instead would re-notify every alert, so a corrupt checkpoint stops the service.</exception>
    public AlerterCheckpoint Decode(byte[] value)
    {
        if (!codec.TryDeserialize<AlerterCheckpoint>(value, out var checkpoint, out var error))
        {
            throw new InvalidDataException($"The checkpoint of {evaluatorId} is not decodable: {error!.Message}");
        }

        if (checkpoint!.EvaluatorId != evaluatorId || checkpoint.StateFormat != StateFormat)
        {
            throw new InvalidDataException($"Checkpoint {checkpoint.Sequence} keyed {evaluatorId} is of evaluator '{checkpoint.EvaluatorId}' with state format '{checkpoint.StateFormat}', expected '{StateFormat}'.");
        }

        return checkpoint;
    }

    /// <summary>Encodes the checkpoint record.</summary>
    public byte[] Encode(long sequence, byte[] state, IEnumerable<TopicPartitionOffset> offsets, long wallClockMs) => codec.Serialize(new AlerterCheckpoint
    {
        EvaluatorId = evaluatorId,
        Sequence = sequence,
        WrittenAtMs = wallClockMs,
        StateFormat = StateFormat,
        State = state,
        Offsets = [.. offsets.Select(o => new CheckpointOffset { Topic = o.Topic, Partition = o.Partition.Value, Offset = o.Offset.Value })],
    });

    /// <summary>The state in <see cref="StateFormat"/>.</summary>
    public static byte[] WriteState(AlerterState state)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true))
        {
            JsonSerializer.Serialize(gzip, state, Json);
        }

        return buffer.ToArray();
    }

    /// <summary>Reads <see cref="WriteState"/>.</summary>
    public static AlerterState ReadState(byte[] state)
    {
        using var input = new GZipStream(new MemoryStream(state), CompressionMode.Decompress);
        return JsonSerializer.Deserialize<AlerterState>(input, Json) ?? throw new InvalidDataException("Empty checkpoint state.");
    }
}
