using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using StreamMonitor.Hosting;
using StreamMonitor.Kafka;

namespace StreamMonitor.Scorer;

/// <summary>
/// Stores the consumer's offsets only up to what is safe: per partition the contiguous prefix whose predictions the
/// cluster has acknowledged (<see cref="OffsetTracker"/>) and never past a dead letter that is not written yet.
/// librdkafka commits stored offsets in the background; revocation and shutdown commit synchronously. Also reports
/// the consumer lag. Called from the scoring loop (and its rebalance callbacks) only.
/// </summary>
internal sealed partial class OffsetCommitter(IConsumer<byte[], byte[]> consumer, IProducer<byte[], byte[]> producer, PredictionPublisher publisher,
    DeadLetterPublisher deadLetters, OffsetTracker tracker, ScorerMetrics metrics, ILogger logger)
{
    private static readonly TimeSpan FlushTimeout = TimeSpan.FromSeconds(10);

    // Committable offsets not yet stored because a dead letter below them is not written yet; offered again at every
    // commit, so a partition's offset catches up as soon as its dead letters are acknowledged.
    private readonly Dictionary<TopicPartition, Offset> _toCommit = [];

    /// <summary>Stores what is safe; with <paramref name="force"/>, first waits for every delivery and then commits synchronously.</summary>
    public void Commit(bool force)
    {
        if (force && producer.Flush(FlushTimeout) > 0)
        {
            LogFlushTimeout(logger);
        }

        publisher.RetryFailedDeliveries();

        // Never past a dead letter that is not written: a record whose dead letter was refused stays uncommitted, so
        // a restart reads it again instead of losing it (DeadLetterPublisher retries it meanwhile).
        if (!deadLetters.Flush(FlushTimeout))
        {
            LogFlushTimeout(logger);
        }

        try
        {
            foreach (var offset in tracker.TakeCommittable())
            {
                _toCommit[offset.TopicPartition] = offset.Offset;
            }

            foreach (var (partition, desired) in _toCommit.ToList())
            {
                var safe = deadLetters.SafeCommitOffset(partition, desired);
                consumer.StoreOffset(new TopicPartitionOffset(partition, safe));
                if (safe == desired)
                {
                    _toCommit.Remove(partition);
                }
            }

            if (force)
            {
                consumer.Commit();
            }
        }
        catch (KafkaException ex) when (ex.Error.Code == ErrorCode.Local_NoOffset)
        {
            // Nothing stored since the last commit.
        }
        catch (KafkaException ex)
        {
            // Storing for a partition no longer assigned, or nothing to commit: the next owner re-scores from the last commit.
            LogCommitFailed(logger, ex.Error.Reason);
        }
    }

    /// <summary>Sets the lag gauges of the assigned partitions and reports the total to the watchdog.</summary>
    public void UpdateLag(LoopProgress progress)
    {
        long total = 0;
        foreach (var partition in consumer.Assignment)
        {
            var position = consumer.Position(partition);
            var watermarks = consumer.GetWatermarkOffsets(partition);
            if (position.Value >= 0 && watermarks.High.Value >= 0)
            {
                var lag = Math.Max(0, watermarks.High.Value - position.Value);
                metrics.Lag(partition.Topic, partition.Partition.Value, lag);
                total += lag;
            }
        }

        progress.ReportLag(total);
    }

    /// <summary>Partitions this instance no longer owns: their next owner reads from the last commit.</summary>
    public void Forget(List<TopicPartition> partitions)
    {
        tracker.Remove(partitions);
        foreach (var partition in partitions)
        {
            _toCommit.Remove(partition);
            deadLetters.Release(partition);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Offset commit failed: {Reason}")]
    private static partial void LogCommitFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Producer flush timed out; offsets stay uncommitted until acknowledged")]
    private static partial void LogFlushTimeout(ILogger logger);
}
