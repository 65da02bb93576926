using Confluent.Kafka;

namespace StreamMonitor.Streams;

/// <summary>
/// What varies between the configurations of a <see cref="TaskRunner"/>: how input partitions form tasks (one task per
/// partition, one per partition number over co-partitioned topics, one over every partition), what a task's checkpoint
/// record holds, and how its tasks are created. The cycle itself (assign, process, idle, checkpoint, commit, revoke,
/// lose) is the runner's alone.
/// </summary>
public interface ILaneLayout
{
    /// <summary>The group's assignor (unused with <see cref="Assignment"/>).</summary>
    PartitionAssignmentStrategy Assignor { get; }

    /// <summary>
    /// Null: the runner subscribes to its topics as a member of its consumer group, which assigns partitions. Else the
    /// partitions the runner assigns itself at start, all of them to this one process (no group membership).
    /// </summary>
    IReadOnlyList<TopicPartition>? Assignment { get; }

    /// <summary>
    /// True: a task's lanes are merged in event time (<see cref="EventTimeOf"/>); false: records are handed to the task
    /// in the order they arrive (a task whose decisions do not depend on how its lanes interleave).
    /// </summary>
    bool MergesByEventTime { get; }

    /// <summary>Records buffered per lane before it is paused (resumed at half).</summary>
    int LaneCapacity { get; }

    /// <summary>
    /// The tasks that newly assigned <paramref name="partitions"/> form: each task's checkpoint key and its lanes (one
    /// partition each, in lane order). Throws for an assignment that does not form whole tasks.
    /// </summary>
    IEnumerable<(string Key, TopicPartition[] Lanes)> TasksOf(List<TopicPartition> partitions);

    /// <summary>
    /// The checkpoint record value of a task over <paramref name="lanes"/>: the next offset of every lane, its changelog
    /// generation and its state.
    /// </summary>
    byte[] Encode(TopicPartition[] lanes, long[] nextOffsets, long changelogGeneration, byte[] state);

    /// <summary>Decodes <see cref="Encode"/> for a task over <paramref name="lanes"/>; a lane's offset may be
    /// <see cref="Offset.Beginning"/>.</summary>
    (long[] NextOffsets, long ChangelogGeneration, byte[] State) Decode(byte[] value, TopicPartition[] lanes);

    /// <summary>Creates the task over <paramref name="lanes"/>, restored from <paramref name="state"/> (null: none) and
    /// the changelog entries live at its checkpoint (empty without a changelog).</summary>
    IPartitionTask Create(TopicPartition[] lanes, byte[]? state, IReadOnlyDictionary<string, byte[]> changelog);

    /// <summary>Event time of a record of <paramref name="lane"/>, ordering the lanes of one task; never throws.</summary>
    long EventTimeOf(int lane, ConsumeResult<byte[], byte[]> record);
}
