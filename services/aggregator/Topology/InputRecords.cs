using System.Runtime.CompilerServices;
using Confluent.Kafka;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.Validation;

namespace StreamMonitor.Aggregator.Topology;

/// <summary>
/// The aggregator's source: every input record (feature event, prediction, label) is decoded and validated here, with
/// the one <see cref="RecordPolicy"/>, against its Kafka timestamp; topologies see only valid events and a
/// <see cref="Rejection"/> otherwise. Each consumed record is decoded once: the latency and score-drift topologies of one
/// prediction partition, and the quality join's event-time merge and its task, share the outcome (kept while the
/// consumed record is alive). Thread-safe.
/// </summary>
public sealed class InputRecords
{
    private readonly ConditionalWeakTable<ConsumeResult<byte[], byte[]>, Decoded> _decoded = [];

    /// <summary>Creates the source over <paramref name="policy"/>.</summary>
    public InputRecords(RecordPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        Policy = policy;
    }

    /// <summary>The record policy.</summary>
    public RecordPolicy Policy { get; }

    /// <summary>The record's Kafka timestamp in ms, or null when it has none (the event time is then judged only against the absolute range).</summary>
    public static long? TimestampOf(ConsumeResult<byte[], byte[]> record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var timestamp = record.Message.Timestamp;
        return timestamp.Type == TimestampType.NotAvailable ? null : timestamp.UnixTimestampMs;
    }

    /// <summary>The record as a valid prediction (an ERROR prediction of an invalid model moved to the "_unknown" bucket), or why not.</summary>
    public Validated<Prediction> Prediction(ConsumeResult<byte[], byte[]> record) => Get(record, static (policy, r) => policy.Predictions(r.Message.Value, TimestampOf(r)));

    /// <summary>The record as a valid label, or why not.</summary>
    public Validated<Label> Label(ConsumeResult<byte[], byte[]> record) => Get(record, static (policy, r) => policy.Labels(r.Message.Value, TimestampOf(r)));

    /// <summary>The record as a valid feature event, or why not.</summary>
    public Validated<FeatureEvent> Features(ConsumeResult<byte[], byte[]> record) => Get(record, static (policy, r) => policy.Features(r.Message.Value, TimestampOf(r)));

    private Validated<T> Get<T>(ConsumeResult<byte[], byte[]> record, Func<RecordPolicy, ConsumeResult<byte[], byte[]>, Validated<T>> decode)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(record);
        // A caller may reuse one ConsumeResult for several records: the outcome belongs to these bytes at this offset only.
        if (_decoded.TryGetValue(record, out var cached) && ReferenceEquals(cached.Value, record.Message.Value) && cached.Offset == record.Offset.Value
            && cached.Result is Validated<T> known)
        {
            return known;
        }

        var result = decode(Policy, record);
        _decoded.AddOrUpdate(record, new Decoded(record.Message.Value, record.Offset.Value, result));
        return result;
    }

    private sealed record Decoded(byte[]? Value, long Offset, object Result);
}
