using Confluent.Kafka;

namespace StreamMonitor.Streams;

/// <summary>Creates the task of one partition number of co-partitioned topics and reads event times for the merge.</summary>
public interface ICoPartitionedTaskFactory
{
    /// <summary>A task for partition <paramref name="partition"/> of every lane topic; <paramref name="state"/> is the
    /// checkpointed state or null, <paramref name="changelog"/> the changelog entries live at that checkpoint (empty
    /// without a changelog; the task must then be an <see cref="IChangelogTask"/> to keep any).</summary>
    IPartitionTask Create(int partition, byte[]? state, IReadOnlyDictionary<string, byte[]> changelog);

    /// <summary>Event time of a record of lane <paramref name="lane"/>, used to order the lanes. Must not throw: a
    /// record without a readable time returns long.MinValue (released at once; the task dead-letters it).</summary>
    long EventTimeOf(int lane, ConsumeResult<byte[], byte[]> record);
}
