using Confluent.Kafka;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.Validation;
using StreamMonitor.Hosting.Projection;
using StreamMonitor.Influx;
using StreamMonitor.Kafka;

namespace StreamMonitor.Alerter;

/// <summary>Decoding and point building of one alerts or slo-status record (no I/O; tests drive it directly).</summary>
/// <param name="topics">Topic names.</param>
/// <param name="codec">Decodes outputs, encodes dead letters.</param>
/// <param name="metrics">Counts rejected records and points.</param>
public sealed class OutputProjection(TopicCatalog topics, EventCodec codec, ProjectionMetrics metrics) : IRecordProjection
{
    /// <inheritdoc />
    public ProjectionMetrics Metrics => metrics;

    /// <summary>
    /// The points of <paramref name="record"/> that line protocol can carry; a record some of whose points it cannot
    /// carry, or that does not decode, gets a dead letter (PROJECTION_REJECTED, or the decoding's reason code) from its
    /// own topic, partition and offset.
    /// </summary>
    public IReadOnlyList<LinePoint> Points(ConsumeResult<byte[], byte[]> record, out (byte[] Key, byte[] Value, string Code, string Detail)? deadLetter)
    {
        ArgumentNullException.ThrowIfNull(record);
        deadLetter = null;
        Rejection? error = null;
        (IReadOnlyList<LinePoint> Points, IReadOnlyList<string> Rejected, long EventTimeMs)? projected =
            record.Topic == topics.SloStatus ? Decode<SloStatus>(record, s => InfluxProjection.Project(s), s => s.EvaluatedAtMs, out error)
            : record.Topic == topics.Alerts ? Decode<Alert>(record, a => InfluxProjection.Project(a), a => a.EventTimeMs, out error)
            : null;
        if (projected is not { } outcome)
        {
            var rejection = error ?? new Rejection(ReasonCodes.UnexpectedTopic, $"The alerter's projection does not read {record.Topic}.");
            metrics.Rejected(rejection.ReasonCode);
            deadLetter = ProjectionDeadLetter.For(codec, "alerter", record, rejection.ReasonCode, rejection.Detail, null);
            return [];
        }

        if (outcome.Rejected.Count > 0)
        {
            metrics.Rejected(ReasonCodes.ProjectionRejected);
            metrics.PointsRejected(outcome.Rejected.Count);
            var detail = $"{outcome.Rejected.Count} of {outcome.Rejected.Count + outcome.Points.Count} points not projected: " + string.Join("; ", outcome.Rejected);
            deadLetter = ProjectionDeadLetter.For(codec, "alerter", record, ReasonCodes.ProjectionRejected, detail, outcome.EventTimeMs);
        }

        return outcome.Points;
    }

    private (IReadOnlyList<LinePoint>, IReadOnlyList<string>, long)? Decode<T>(ConsumeResult<byte[], byte[]> record, Func<T, (IReadOnlyList<LinePoint>, IReadOnlyList<string>)> project, Func<T, long> eventTime, out Rejection? error)
        where T : class
    {
        if (codec.TryDeserialize<T>(record.Message.Value, out var value, out var decodeError) && value is not null)
        {
            error = null;
            var (points, rejected) = project(value);
            return (points, rejected, eventTime(value));
        }

        error = new Rejection(decodeError?.ReasonCode ?? ReasonCodes.DecodeCorruptBody, decodeError?.Message ?? $"No {typeof(T).Name} in the record.");
        return null;
    }
}
