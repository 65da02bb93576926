using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StreamMonitor.Influx;
using StreamMonitor.Kafka;

namespace StreamMonitor.Hosting.Projection;

/// <summary>What a <see cref="TopicProjector"/> reads and how it is known.</summary>
/// <param name="Name">Its watchdog name and log label (e.g. "aggregator/projection").</param>
/// <param name="ConsumerGroup">Its own consumer group, so that its offsets never move the decisions' ones.</param>
/// <param name="Topics">The topics it projects.</param>
/// <param name="Kafka">The cluster; dead letters go to its dead-letter topic.</param>
public sealed record ProjectorSettings(string Name, string ConsumerGroup, IReadOnlyList<string> Topics, KafkaOptions Kafka);

/// <summary>Decoding and point building of one record of a projected topic (no I/O; tests drive it directly).</summary>
public interface IRecordProjection
{
    /// <summary>Where rejections and failures are counted.</summary>
    ProjectionMetrics Metrics { get; }

    /// <summary>
    /// The points of <paramref name="record"/> that line protocol can carry; <paramref name="deadLetter"/> is the dead
    /// letter (key, value, reason code, detail) to produce for it, else null. Never throws on data.
    /// </summary>
    IReadOnlyList<LinePoint> Points(ConsumeResult<byte[], byte[]> record, out (byte[] Key, byte[] Value, string Code, string Detail)? deadLetter);
}

/// <summary>
/// Projects topics into InfluxDB, a rebuildable view of the log, as a consumer of its own: every service's projection
/// is this one loop with its own <see cref="IRecordProjection"/>. Offsets are committed only after the writer has
/// flushed every point of the records before them, so a crash re-writes (points overwrite by identity) and never
/// skips. While InfluxDB is down the writer's bounded buffer fills and this loop waits: records stay on Kafka, memory
/// stays bounded, and nothing else in the service waits with it.
/// A projection never stops the service: a point line protocol cannot carry is counted and dead-lettered by the
/// projection; a failed write, flush, commit or consume is logged and counted, and the loop goes on. Only cancellation
/// at shutdown ends it.
/// </summary>
public class TopicProjector(ProjectorSettings settings, IRecordProjection projection, InfluxWriter writer, ProgressWatchdog watchdog, ILogger logger) : BackgroundService
{
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);

    /// <inheritdoc />
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.Factory.StartNew(() => RunAsync(stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();

    private async Task RunAsync(CancellationToken stoppingToken)
    {
        var kafka = settings.Kafka;
        var group = settings.ConsumerGroup;
        var metrics = projection.Metrics;
        using var consumer = new ConsumerBuilder<byte[], byte[]>(KafkaClientConfig.Consumer(kafka, group, $"{group}-{Environment.ProcessId}")).Build();
        using var producer = new ProducerBuilder<byte[], byte[]>(KafkaClientConfig.Producer(kafka, $"{group}-{Environment.ProcessId}")).Build();
        consumer.Subscribe(settings.Topics);
        var pending = new Dictionary<TopicPartition, TopicPartitionOffset>();

        // A partition whose dead letter could not be written is committed no further than that record, so a restart
        // reads it again and the dead letter is not lost.
        var blocked = new Dictionary<TopicPartition, Offset>();
        using var progress = watchdog.Register(settings.Name);
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

                    // A tombstone on a compacted topic deletes a record: nothing to project.
                    if (record is { IsPartitionEOF: false, Message.Value: not null })
                    {
                        progress.Received();
                        var points = projection.Points(record, out var letter);
                        if (letter is { } deadLetter && !await SendDeadLetterAsync(producer, kafka.Topics.DeadLetter, record, deadLetter, metrics, stoppingToken))
                        {
                            blocked.TryAdd(record.TopicPartition, record.Offset);
                        }

                        // Waits while the writer's buffer is full (InfluxDB down): the record is not committed until written.
                        await writer.WriteAsync(points, stoppingToken);
                        metrics.Queued(points.Count);
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
                    // on. Such a record is skipped; it stays on its topic, where a rebuild of the projection finds it.
                    metrics.Failure(record is null ? "consume" : "project");
                    logger.LogError(ex, "Projection {Name} failed on {Topic}[{Partition}]@{Offset}; continuing", settings.Name, record?.Topic, record?.Partition.Value, record?.Offset.Value);
                    await Task.Delay(RetryDelay, stoppingToken);
                }

                if (pending.Count > 0 && (record is null || DateTime.UtcNow - lastFlush > TimeSpan.FromSeconds(1)))
                {
                    await CommitAsync(consumer, pending, metrics, stoppingToken);
                    lastFlush = DateTime.UtcNow;
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            logger.LogInformation("Projection {Name} stopping; uncommitted records will be re-written on restart", settings.Name);
        }
        finally
        {
            try
            {
                consumer.Close();
            }
            catch (KafkaException ex)
            {
                logger.LogWarning(ex, "Projection {Name} consumer did not leave its group cleanly", settings.Name);
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
            // InfluxDB refused or lost points after the writer's retries. The records stay on their topics (the projection
            // can be rebuilt from them); stopping would only stop every later record from being projected too.
            metrics.Failure("write");
            logger.LogError(ex, "InfluxDB did not take {RejectedPoints} points and lost {FailedPoints}; projection {Name} continues", ex.RejectedPoints, ex.FailedPoints, settings.Name);
        }
        catch (InvalidOperationException ex)
        {
            // The writer loop itself failed: nothing written since, so nothing to commit; retry later.
            metrics.Failure("writer");
            logger.LogCritical(ex, "The InfluxDB writer has stopped; projection {Name} writes nothing until it recovers or the service restarts", settings.Name);
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
            logger.LogWarning(ex, "Projection {Name}: committing {Partitions} partitions failed; retrying with the next commit", settings.Name, pending.Count);
        }
    }

    /// <summary>Produces a dead letter and awaits its acknowledgement; false (logged, counted) when it could not be written.</summary>
    private async Task<bool> SendDeadLetterAsync(IProducer<byte[], byte[]> producer, string topic, ConsumeResult<byte[], byte[]> record, (byte[] Key, byte[] Value, string Code, string Detail) letter, ProjectionMetrics metrics, CancellationToken stoppingToken)
    {
        logger.LogWarning("{Topic}[{Partition}]@{Offset} not (fully) projected: {ReasonCode} {Detail}", record.Topic, record.Partition.Value, record.Offset.Value, letter.Code, letter.Detail);
        try
        {
            await producer.ProduceAsync(topic, new Message<byte[], byte[]> { Key = letter.Key, Value = letter.Value }, stoppingToken);
            return true;
        }
        catch (ProduceException<byte[], byte[]> ex)
        {
            metrics.Failure("dead_letter");
            logger.LogError(ex, "Dead letter of {Topic}[{Partition}]@{Offset} ({ReasonCode}) could not be produced; the partition is not committed past it", record.Topic, record.Partition.Value, record.Offset.Value, letter.Code);
            return false;
        }
    }
}
