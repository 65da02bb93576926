using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Prometheus;
using StreamMonitor.Aggregator.Topology;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.Validation;
using StreamMonitor.Influx;
using StreamMonitor.Kafka;
using StreamMonitor.Streams;

namespace StreamMonitor.Aggregator;

/// <summary>
/// Projects the compacted result topics into InfluxDB (a rebuildable projection of the log). Consumer group
/// "{ConsumerGroup}-influx"; offsets are committed only after the writer has flushed every point of the records
/// before them, so a crash re-writes (points overwrite by identity) and never skips. While InfluxDB is down the
/// writer's bounded buffer fills and this loop waits: results stay on Kafka, memory stays bounded.
/// A projection never stops the service: results are decoded with the <see cref="RecordPolicy"/>; a result it rejects
/// is counted (the alerter dead-letters it), a point InfluxDB's line protocol cannot carry is counted and dead-lettered
/// (source: the result record; the result's other points are written), and a failed write, flush, commit or consume is
/// logged and counted, and the loop goes on. Only cancellation at shutdown ends it.
/// </summary>
public sealed class ResultProjector(IOptions<KafkaOptions> kafkaOptions, IOptions<AggregatorOptions> aggregatorOptions, InfluxWriter writer, ProgressWatchdog watchdog, ILogger<ResultProjector> logger, IMetricFactory metricFactory) : BackgroundService
{
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);

    /// <inheritdoc />
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.Factory.StartNew(() => RunAsync(stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();

    private async Task RunAsync(CancellationToken stoppingToken)
    {
        var kafka = kafkaOptions.Value;
        var options = aggregatorOptions.Value;
        var group = options.ConsumerGroup + "-influx";
        var codec = new EventCodec();
        var projection = new ResultProjection(kafka.Topics, new RecordPolicy(codec, options.EventTime.ToPolicy()), codec, new ProjectionMetrics(metricFactory));
        using var consumer = new ConsumerBuilder<byte[], byte[]>(KafkaClientConfig.Consumer(kafka, group, $"{group}-{Environment.ProcessId}")).Build();
        using var producer = new ProducerBuilder<byte[], byte[]>(KafkaClientConfig.Producer(kafka, $"{group}-{Environment.ProcessId}")).Build();
        consumer.Subscribe([kafka.Topics.LatencyResults, kafka.Topics.DriftResults, kafka.Topics.QualityResults]);
        var pending = new Dictionary<TopicPartition, TopicPartitionOffset>();

        // A partition whose dead letter could not be written is committed no further than that record, so a restart
        // reads it again and the dead letter is not lost.
        var blocked = new Dictionary<TopicPartition, Offset>();
        using var progress = watchdog.Register("aggregator/projection");
        var lastFlush = DateTime.UtcNow;
        var lastLag = DateTime.MinValue;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                ConsumeResult<byte[], byte[]>? record = null;
                try
                {
                    record = consumer.Consume(TimeSpan.FromMilliseconds(200));

                    // A tombstone on a compacted result topic deletes a result: nothing to project.
                    if (record is { IsPartitionEOF: false, Message.Value: not null })
                    {
                        progress.Received();
                        var points = projection.Points(record, out var letter);
                        if (letter is { } deadLetter && !await SendDeadLetterAsync(producer, kafka.Topics.DeadLetter, record, deadLetter, projection.Metrics, stoppingToken))
                        {
                            blocked.TryAdd(record.TopicPartition, record.Offset);
                        }

                        await writer.WriteAsync(points, stoppingToken);
                    }

                    if (record is { IsPartitionEOF: false })
                    {
                        var next = record.Offset + 1;
                        pending[record.TopicPartition] = new TopicPartitionOffset(record.TopicPartition, blocked.TryGetValue(record.TopicPartition, out var at) && at < next ? at : next);
                    }

                    progress.Progressed();
                    if (DateTime.UtcNow - lastLag > TimeSpan.FromSeconds(1))
                    {
                        progress.ReportLag(ConsumerLag.Of(consumer));
                        lastLag = DateTime.UtcNow;
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // Consume errors (a broker gone, a rebalance), or anything unforeseen with one record: log, count, go
                    // on. Such a record is skipped; its result stays on its topic, where a rebuild of the projection finds it.
                    projection.Metrics.Failure(record is null ? "consume" : "project");
                    logger.LogError(ex, "Result projection failed on {Topic}[{Partition}]@{Offset}; continuing", record?.Topic, record?.Partition.Value, record?.Offset.Value);
                    await Task.Delay(RetryDelay, stoppingToken);
                }

                if (pending.Count > 0 && (record is null || DateTime.UtcNow - lastFlush > TimeSpan.FromSeconds(1)))
                {
                    await CommitAsync(consumer, pending, projection.Metrics, stoppingToken);
                    lastFlush = DateTime.UtcNow;
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            logger.LogInformation("Result projection stopping; uncommitted results will be re-written on restart");
        }
        finally
        {
            try
            {
                consumer.Close();
            }
            catch (KafkaException ex)
            {
                logger.LogWarning(ex, "Result projection consumer did not leave its group cleanly");
            }
        }
    }

    /// <summary>Flushes the writer, then commits what it has written. Failures are logged and counted, never thrown.</summary>
    private async Task CommitAsync(IConsumer<byte[], byte[]> consumer, Dictionary<TopicPartition, TopicPartitionOffset> pending, ProjectionMetrics metrics, CancellationToken stoppingToken)
    {
        try
        {
            await writer.FlushAsync(stoppingToken);
        }
        catch (InfluxWriteException ex)
        {
            // InfluxDB refused or lost points after the writer's retries. The results stay on their topics (the projection
            // can be rebuilt from them); stopping would only stop every later result from being projected too.
            metrics.Failure("write");
            logger.LogError(ex, "InfluxDB did not take {RejectedPoints} points and lost {FailedPoints}; the projection continues", ex.RejectedPoints, ex.FailedPoints);
        }
        catch (InvalidOperationException ex)
        {
            // The writer loop itself failed: nothing written since, so nothing to commit; retry later.
            metrics.Failure("writer");
            logger.LogCritical(ex, "The InfluxDB writer has stopped; results are not projected until it recovers or the service restarts");
            await Task.Delay(RetryDelay, stoppingToken);
            return;
        }

        try
        {
            consumer.Commit(pending.Values);
            pending.Clear();
        }
        catch (KafkaException ex)
        {
            // Kept pending: the next commit retries; after a rebalance the new owner re-writes (points overwrite).
            metrics.Failure("commit");
            logger.LogWarning(ex, "Committing {Partitions} result partitions failed; retrying with the next commit", pending.Count);
        }
    }

    /// <summary>Produces a dead letter and awaits its acknowledgement; false (logged, counted) when it could not be written.</summary>
    private async Task<bool> SendDeadLetterAsync(IProducer<byte[], byte[]> producer, string topic, ConsumeResult<byte[], byte[]> record, (byte[] Key, byte[] Value, string Code, string Detail) letter, ProjectionMetrics metrics, CancellationToken stoppingToken)
    {
        logger.LogWarning("Result {Topic}[{Partition}]@{Offset} not (fully) projected: {ReasonCode} {Detail}", record.Topic, record.Partition.Value, record.Offset.Value, letter.Code, letter.Detail);
        try
        {
            await producer.ProduceAsync(topic, new Message<byte[], byte[]> { Key = letter.Key, Value = letter.Value }, stoppingToken);
            return true;
        }
        catch (ProduceException<byte[], byte[]> ex)
        {
            metrics.Failure("dead_letter");
            logger.LogError(ex, "Dead letter of result {Topic}[{Partition}]@{Offset} ({ReasonCode}) could not be produced; the partition is not committed past it", record.Topic, record.Partition.Value, record.Offset.Value, letter.Code);
            return false;
        }
    }
}

/// <summary>Decoding, validation and point building of one result record (no I/O; tests drive it directly).</summary>
/// <param name="topics">Topic names.</param>
/// <param name="policy">Decodes and validates results.</param>
/// <param name="codec">Encodes dead letters.</param>
/// <param name="metrics">Counts rejected results.</param>
public sealed class ResultProjection(TopicCatalog topics, RecordPolicy policy, EventCodec codec, ProjectionMetrics metrics)
{
    /// <summary>Where rejections and failures are counted.</summary>
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

        // Observed at the wall clock: the projection is not a replayable computation of its own.
        var (key, value) = TaskState.DeadLetter(codec, record, code, detail, eventTimeMs, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        return (key, value, code, detail);
    }
}

/// <summary>The result projection's counters (served on /metrics); labels are reason codes and fixed stage names only.</summary>
public sealed class ProjectionMetrics
{
    private readonly Counter _rejected;
    private readonly Counter _failures;

    /// <summary>Creates the counters in <paramref name="factory"/>.</summary>
    public ProjectionMetrics(IMetricFactory factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        _rejected = factory.CreateCounter("streammon_aggregator_projection_rejected_total", "Result records not (fully) projected into InfluxDB, by reason code (PROJECTION_REJECTED: points line protocol cannot carry, dead-lettered; other codes: refused by the record policy, dead-lettered by the alerter).", ["reason_code"]);
        _failures = factory.CreateCounter("streammon_aggregator_projection_failures_total", "Result projection failures logged and survived, by stage (consume, project, write, writer, commit, dead_letter).", ["stage"]);
    }

    /// <summary>A result record dead-lettered with <paramref name="reasonCode"/>.</summary>
    public void Rejected(string reasonCode) => _rejected.WithLabels(reasonCode).Inc();

    /// <summary>A failure at <paramref name="stage"/> that the projection survived.</summary>
    public void Failure(string stage) => _failures.WithLabels(stage).Inc();
}
