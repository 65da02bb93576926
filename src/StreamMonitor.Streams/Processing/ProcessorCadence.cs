using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace StreamMonitor.Streams;

/// <summary>
/// When a processor's run loop offers idle flushes and writes checkpoints. Wall clock on purpose: it bounds how much
/// is replayed after a crash and how late an idle flush comes, never what a result is.
/// </summary>
internal sealed class ProcessorCadence(TimeSpan idleCheckInterval, int checkpointEveryRecords, TimeSpan checkpointInterval)
{
    private int _sinceCheckpoint;
    private DateTime _lastCheckpoint = DateTime.UtcNow;
    private DateTime _lastIdle = DateTime.UtcNow;

    /// <summary>Counts records handed to tasks since the last checkpoint.</summary>
    public void Handed(int records) => _sinceCheckpoint += records;

    /// <summary>True (and restarts the interval) when idle flushes are due.</summary>
    public bool IdleCheckDue(DateTime now)
    {
        if (now - _lastIdle < idleCheckInterval)
        {
            return false;
        }

        _lastIdle = now;
        return true;
    }

    /// <summary>True (and starts counting anew) when enough records, or records and enough time, have passed.</summary>
    public bool CheckpointDue(DateTime now)
    {
        if (_sinceCheckpoint < checkpointEveryRecords && (_sinceCheckpoint == 0 || now - _lastCheckpoint < checkpointInterval))
        {
            return false;
        }

        _sinceCheckpoint = 0;
        _lastCheckpoint = now;
        return true;
    }

    /// <summary>
    /// Commits group offsets after a checkpoint. They only show lag: the checkpoint is authoritative, so a failed commit
    /// is logged and ignored.
    /// </summary>
    public static void CommitInformational(IConsumer<byte[], byte[]>? consumer, List<TopicPartitionOffset> offsets, ILogger logger)
    {
        try
        {
            consumer?.Commit(offsets);
        }
        catch (KafkaException ex)
        {
            logger.LogDebug(ex, "Group offset commit failed; checkpoints stay authoritative");
        }
    }
}
