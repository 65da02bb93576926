using Confluent.Kafka;

namespace StreamMonitor.Streams;

/// <summary>
/// What varies between the configurations of a <see cref="TaskRunner"/>: how the partitions a group assigns form tasks
/// (one task per partition, or one per partition number over co-partitioned topics), what a task's checkpoint holds,
/// and how its tasks are created. The cycle itself (assign, process, idle, checkpoint, commit, revoke, lose) is the
/// runner's alone.
/// </summary>
internal interface ILaneLayout
{
    /// <summary>The group's assignor.</summary>
    PartitionAssignmentStrategy Assignor { get; }

    /// <summary>Records buffered per lane before it is paused (resumed at half).</summary>
    int LaneCapacity { get; }

    /// <summary>
    /// The tasks that newly assigned <paramref name="partitions"/> form: each task's checkpoint key and its lanes (one
    /// partition each, in lane order). Throws for an assignment that does not form whole tasks.
    /// </summary>
    IEnumerable<(string Key, TopicPartition[] Lanes)> TasksOf(List<TopicPartition> partitions);

    /// <summary>Encodes a task's checkpoint: the next offset of every lane, its changelog generation and its state.</summary>
    Checkpoint Encode(long[] nextOffsets, long changelogGeneration, byte[] state);

    /// <summary>Decodes <see cref="Encode"/> for a task of <paramref name="lanes"/> lanes.</summary>
    (long[] NextOffsets, long ChangelogGeneration, byte[] State) Decode(Checkpoint checkpoint, int lanes);

    /// <summary>Creates the task over <paramref name="lanes"/>, restored from <paramref name="state"/> (null: none) and
    /// the changelog entries live at its checkpoint (empty without a changelog).</summary>
    IPartitionTask Create(TopicPartition[] lanes, byte[]? state, IReadOnlyDictionary<string, byte[]> changelog);

    /// <summary>Event time of a record of <paramref name="lane"/>, ordering the lanes of one task; never throws.</summary>
    long EventTimeOf(int lane, ConsumeResult<byte[], byte[]> record);
}
