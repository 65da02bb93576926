using Confluent.Kafka;

namespace StreamMonitor.Streams;

/// <summary>Where a task sends its outputs: keyed records on topics; delivery is checked before each checkpoint.</summary>
public interface ITaskOutput
{
    /// <summary>Produces a record; <paramref name="partition"/> null lets the murmur2 partitioner pick by key.</summary>
    void Send(string topic, int? partition, byte[] key, byte[] value);
}

/// <summary>
/// The processing of one assigned input partition. Deterministic: its outputs and state depend only on its
/// checkpointed state and the records it is given, in order.
/// </summary>
public interface IPartitionTask
{
    /// <summary>Processes one record.</summary>
    void Process(ConsumeResult<byte[], byte[]> record, ITaskOutput output);

    /// <summary>Largest event time seen (long.MinValue before any).</summary>
    long StreamTime { get; }

    /// <summary>
    /// What this task reports to the process's progress board, the watermark the other tasks' idle rules compare
    /// their own progress with: the stream time, unless part of the task's input runs ahead of what its windows are
    /// decided on (the quality join reports its prediction time: label times lead by the label delay, and a lead that
    /// does not come from the same kind of records must not make a partition look idle).
    /// </summary>
    long ProgressTime => StreamTime;

    /// <summary>
    /// Called between records, only while the task's partition is caught up (the consumer has reached its end), with
    /// the largest stream time known to this process (other partitions' data): the task may emit provisional results
    /// of windows it holds open although the rest of the group has moved on.
    /// </summary>
    void OnIdle(long watermarkMs, ITaskOutput output);

    /// <summary>Serialises the whole state (stored with the offset of the next record in one checkpoint record).</summary>
    byte[] Snapshot();

    /// <summary>
    /// Called when the end of the input partition <paramref name="partition"/> counts (the consumer reached it and no
    /// record came after): a task that decides on the progress of all its lanes may move on without it.
    /// </summary>
    void OnLaneEnd(TopicPartition partition, ITaskOutput output)
    {
    }

    /// <summary>
    /// True when the task must be checkpointed now, before the next record, whether or not it was given records since
    /// its last checkpoint (the alerter: before a notifier may deliver an alert transition it emitted).
    /// </summary>
    bool CheckpointDue => false;

    /// <summary>Called once the checkpoint holding the last <see cref="Snapshot"/> is durable.</summary>
    void OnCheckpointed()
    {
    }
}

/// <summary>Creates tasks for assigned partitions, restoring from a checkpoint when there is one.</summary>
public interface IPartitionTaskFactory
{
    /// <summary>A task for <paramref name="partition"/>; <paramref name="state"/> is the checkpointed state or null.</summary>
    IPartitionTask Create(TopicPartition partition, byte[]? state);
}
