using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Prometheus;
using StreamMonitor.Aggregator.Topology;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.Validation;
using StreamMonitor.Hosting.Projection;
using StreamMonitor.Influx;
using StreamMonitor.Kafka;
using StreamMonitor.Streams;

namespace StreamMonitor.Aggregator;

/// <summary>
/// Projects the compacted result topics into InfluxDB: the shared <see cref="TopicProjector"/> loop (consumer group
/// "{ConsumerGroup}-influx", commits after flushes, waits while InfluxDB is down) over a <see cref="ResultProjection"/>.
/// </summary>
public sealed class ResultProjector(IOptions<KafkaOptions> kafkaOptions, IOptions<AggregatorOptions> aggregatorOptions, InfluxWriter writer, ProgressWatchdog watchdog, ILogger<ResultProjector> logger, IMetricFactory metricFactory)
    : TopicProjector(Settings(kafkaOptions.Value, aggregatorOptions.Value), Projection(kafkaOptions.Value, aggregatorOptions.Value, metricFactory), writer, watchdog, logger)
{
    private static ProjectorSettings Settings(KafkaOptions kafka, AggregatorOptions options) =>
        new("aggregator/projection", options.ConsumerGroup + "-influx", [kafka.Topics.LatencyResults, kafka.Topics.DriftResults, kafka.Topics.QualityResults], kafka);

    private static ResultProjection Projection(KafkaOptions kafka, AggregatorOptions options, IMetricFactory metricFactory)
    {
        var codec = new EventCodec();
        return new ResultProjection(kafka.Topics, new RecordPolicy(codec, options.EventTime.ToPolicy()), codec, new ProjectionMetrics(metricFactory, "aggregator"));
    }
}

/// <summary>Decoding, validation and point building of one result record (no I/O; tests drive it directly).</summary>
/// <param name="topics">Topic names.</param>
/// <param name="policy">Decodes and validates results.</param>
/// <param name="codec">Encodes dead letters.</param>
/// <param name="metrics">Counts rejected results.</param>
public sealed class ResultProjection(TopicCatalog topics, RecordPolicy policy, EventCodec codec, ProjectionMetrics metrics) : IRecordProjection
{
    /// <inheritdoc />
    public ProjectionMetrics Metrics => metrics;

    /// <summary>
    /// The points of <paramref name="record"/> that line protocol can carry; <paramref name="deadLetter"/> is the
    /// PROJECTION_REJECTED dead letter (key, value, reason code, detail) when some points of a valid result could not
    /// be built, else null. A result the record policy refuses is only counted: the alerter, which reads the result
    /// topics for its decisions, dead-letters it.
    /// </summary>
    public IReadOnlyList<LinePoint> Points(ConsumeResult<byte[], byte[]> record, out (byte[] Key, byte[] Value, string Code, string Detail)? deadLetter)
    {
        ArgumentNullException.ThrowIfNull(record);
        var timestamp = InputRecords.TimestampOf(record);
        var value = record.Message.Value;
        (ProjectedPoints? Points, Rejection? Rejection, long WindowStartMs) outcome =
            record.Topic == topics.LatencyResults ? Of(policy.LatencyResults(value, timestamp), ResultPoints.Of, r => r.WindowStartMs)
            : record.Topic == topics.QualityResults ? Of(policy.QualityResults(value, timestamp), ResultPoints.Of, r => r.WindowStartMs)
            : record.Topic == topics.DriftResults ? Of(policy.DriftResults(value, timestamp), ResultPoints.Of, r => r.WindowStartMs)
            : (null, new Rejection(ReasonCodes.UnexpectedTopic, $"The projection does not read {record.Topic}."), 0);
        deadLetter = null;
        if (outcome.Rejection is { } rejection)
        {
            // The alerter reads the result topics too and owns their dead letters (one per record): here it is counted.
            metrics.Rejected(rejection.ReasonCode);
            return [];
        }

        var points = outcome.Points!;
        if (points.Rejected.Count > 0)
        {
            metrics.PointsRejected(points.Rejected.Count);
            deadLetter = Letter(record, ReasonCodes.ProjectionRejected, $"{points.Rejected.Count} of {points.Rejected.Count + points.Points.Count} points not projected: " + string.Join("; ", points.Rejected), outcome.WindowStartMs);
        }

        return points.Points;
    }

    private static (ProjectedPoints?, Rejection?, long) Of<T>(Validated<T> validated, Func<T, ProjectedPoints> project, Func<T, long> start)
        where T : class =>
        validated.TryGet(out var result, out var rejection) ? (project(result), null, start(result)) : (null, rejection, 0);

    private (byte[] Key, byte[] Value, string Code, string Detail) Letter(ConsumeResult<byte[], byte[]> record, string code, string detail, long? eventTimeMs)
    {
        metrics.Rejected(code);
        return ProjectionDeadLetter.For(codec, "aggregator", record, code, detail, eventTimeMs);
    }
}
