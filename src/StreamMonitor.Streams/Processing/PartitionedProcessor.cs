using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using StreamMonitor.Kafka;

namespace StreamMonitor.Streams;

/// <summary>Settings of one <see cref="PartitionedProcessor"/>.</summary>
/// <param name="GroupId">Consumer group; also the first component of checkpoint keys.</param>
/// <param name="Topics">Input topics.</param>
/// <param name="CheckpointEveryRecords">Checkpoint after this many records (bounds replay after a crash).</param>
/// <param name="CheckpointInterval">Checkpoint at least this often while records flow (wall clock: affects only how
/// much is replayed after a crash, never a result).</param>
/// <param name="IdleCheckInterval">How often tasks are offered an idle flush; also how often the input lag is reported to <paramref name="Progress"/>.</param>
/// <param name="Progress">Where the loop reports liveness (/healthz: <see cref="ProgressWatchdog"/>); none when null.</param>
public sealed record ProcessorSettings(string GroupId, IReadOnlyList<string> Topics, int CheckpointEveryRecords, TimeSpan CheckpointInterval, TimeSpan IdleCheckInterval, LoopProgress? Progress = null);

/// <summary>
/// Runs one <see cref="IPartitionTask"/> per assigned input partition in a consumer group (cooperative-sticky): the
/// one-lane configuration of the <see cref="TaskRunner"/>, whose cycle (restore on assignment, checkpoint on revocation,
/// outputs acknowledged before each checkpoint, idle flushes for caught-up partitions only) it is. A checkpoint record
/// is keyed by <see cref="CheckpointStore.KeyOf"/> and holds the partition's next offset and the task state.
/// </summary>
public sealed class PartitionedProcessor
{
    private readonly TaskRunner _runner;

    /// <summary>Creates a processor; <see cref="Run"/> drives it; <paramref name="metrics"/> (optional) sees its progress.</summary>
    public PartitionedProcessor(ProcessorSettings settings, KafkaOptions kafka, IPartitionTaskFactory factory, IProducer<byte[], byte[]> producer, CheckpointStore store, ProgressBoard progress, ILogger logger, IProcessorMetrics? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var runner = new RunnerSettings(settings.GroupId, settings.Topics, settings.CheckpointEveryRecords, settings.CheckpointInterval, settings.IdleCheckInterval, ChangelogTopic: null, settings.Progress, UpstreamCaughtUp: null);
        _runner = new TaskRunner(runner, new OneLane(settings.GroupId, factory), kafka, producer, store, progress, logger, metrics);
    }

    /// <summary>Partitions currently owned.</summary>
    public int AssignedCount => _runner.AssignedCount;

    /// <summary>Consumes until cancelled, then checkpoints every task and leaves the group.</summary>
    public void Run(CancellationToken cancellationToken) => _runner.Run(cancellationToken);

    /// <summary>One task per partition; its checkpoint is the partition's next offset and the task state as they are.</summary>
    private sealed class OneLane(string group, IPartitionTaskFactory factory) : ILaneLayout
    {
        /// <summary>A one-lane merge hands each record on as it is added, so its buffer never fills.</summary>
        private const int UnusedCapacity = 2;

        public PartitionAssignmentStrategy Assignor => PartitionAssignmentStrategy.CooperativeSticky;

        public IReadOnlyList<TopicPartition>? Assignment => null;

        public bool MergesByEventTime => true;

        public int LaneCapacity => UnusedCapacity;

        public IEnumerable<(string Key, TopicPartition[] Lanes)> TasksOf(List<TopicPartition> partitions) =>
            partitions.Select(p => (CheckpointStore.KeyOf(group, p), new[] { p }));

        public byte[] Encode(TopicPartition[] lanes, long[] nextOffsets, long changelogGeneration, byte[] state) => CheckpointStore.Encode(new Checkpoint(nextOffsets[0], state));

        public (long[] NextOffsets, long ChangelogGeneration, byte[] State) Decode(byte[] value, TopicPartition[] lanes)
        {
            var checkpoint = CheckpointStore.Decode(value);
            return ([checkpoint.NextOffset], 0, checkpoint.State);
        }

        public IPartitionTask Create(TopicPartition[] lanes, byte[]? state, IReadOnlyDictionary<string, byte[]> changelog) => factory.Create(lanes[0], state);

        public long EventTimeOf(int lane, ConsumeResult<byte[], byte[]> record) => 0;
    }
}
