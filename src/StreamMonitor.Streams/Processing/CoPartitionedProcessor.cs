using System.Buffers.Binary;
using System.Globalization;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using StreamMonitor.Kafka;

namespace StreamMonitor.Streams;

/// <summary>
/// Runs one <see cref="IPartitionTask"/> per partition number p over partition p of every lane topic (co-partitioned:
/// same key, same partition count, same partitioner): the co-partitioned configuration of the <see cref="TaskRunner"/>,
/// whose cycle it is. The group uses the range assignor, which hands one member the same partition numbers of topics
/// with equal partition counts; an assignment that splits a pair fails the processor. The lanes are merged in event
/// time (lane 0 wins ties). One checkpoint record (<see cref="EncodeCheckpoint"/>) holds the task state, the next
/// offset of every lane and the changelog generation of an <see cref="IChangelogTask"/>.
/// </summary>
public sealed class CoPartitionedProcessor
{
    private const int StateVersion = 2;
    private readonly TaskRunner _runner;

    /// <summary>Creates a processor; <see cref="Run"/> drives it; <paramref name="metrics"/> (optional) sees its progress.</summary>
    public CoPartitionedProcessor(CoPartitionedSettings settings, KafkaOptions kafka, ICoPartitionedTaskFactory factory, IProducer<byte[], byte[]> producer, CheckpointStore store, ProgressBoard progress, ILogger logger, IProcessorMetrics? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.Topics.Count < 2 || settings.Topics.Distinct(StringComparer.Ordinal).Count() != settings.Topics.Count)
        {
            throw new ArgumentException("A co-partitioned processor needs at least two distinct topics.", nameof(settings));
        }

        var runner = new RunnerSettings(settings.GroupId, settings.Topics, settings.CheckpointEveryRecords, settings.CheckpointInterval, settings.IdleCheckInterval, settings.ChangelogTopic, settings.Progress, settings.UpstreamCaughtUp);
        _runner = new TaskRunner(runner, new CoPartitioned(settings, factory, logger), kafka, producer, store, progress, logger, metrics);
    }

    /// <summary>Partition numbers currently owned.</summary>
    public int AssignedCount => _runner.AssignedCount;

    /// <summary>Checkpoint key of partition number <paramref name="partition"/> of a group over <paramref name="topics"/>.</summary>
    public static string KeyOf(string group, IReadOnlyList<string> topics, int partition)
    {
        ArgumentNullException.ThrowIfNull(topics);
        return string.Create(CultureInfo.InvariantCulture, $"{group}|{string.Join('+', topics)}|{partition}");
    }

    /// <summary>
    /// Encodes a checkpoint of several lanes: the first lane's offset in the record; the rest, then the changelog
    /// generation, before the task state.
    /// </summary>
    public static Checkpoint EncodeCheckpoint(IReadOnlyList<long> nextOffsets, long changelogGeneration, byte[] taskState)
    {
        ArgumentNullException.ThrowIfNull(nextOffsets);
        ArgumentNullException.ThrowIfNull(taskState);
        var header = 16 + (8 * nextOffsets.Count);
        var state = new byte[header + taskState.Length];
        BinaryPrimitives.WriteInt32LittleEndian(state, StateVersion);
        BinaryPrimitives.WriteInt32LittleEndian(state.AsSpan(4), nextOffsets.Count);
        for (var i = 0; i < nextOffsets.Count; i++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(state.AsSpan(8 + (8 * i)), nextOffsets[i]);
        }

        BinaryPrimitives.WriteInt64LittleEndian(state.AsSpan(header - 8), changelogGeneration);
        taskState.CopyTo(state.AsSpan(header));
        return new Checkpoint(nextOffsets[0], state);
    }

    /// <summary>Decodes <see cref="EncodeCheckpoint"/>: the next offset per lane, the changelog generation and the task state.</summary>
    public static (long[] NextOffsets, long ChangelogGeneration, byte[] TaskState) DecodeCheckpoint(Checkpoint checkpoint, int lanes)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        var state = checkpoint.State;
        var header = 16 + (8 * lanes);
        if (state.Length < header || BinaryPrimitives.ReadInt32LittleEndian(state) != StateVersion || BinaryPrimitives.ReadInt32LittleEndian(state.AsSpan(4)) != lanes)
        {
            throw new InvalidDataException($"Not a version-{StateVersion} checkpoint of {lanes} lanes.");
        }

        var offsets = new long[lanes];
        for (var i = 0; i < lanes; i++)
        {
            offsets[i] = BinaryPrimitives.ReadInt64LittleEndian(state.AsSpan(8 + (8 * i)));
        }

        return (offsets, BinaryPrimitives.ReadInt64LittleEndian(state.AsSpan(header - 8)), state[header..]);
    }

    /// <summary>Consumes until cancelled, then checkpoints every task and leaves the group.</summary>
    public void Run(CancellationToken cancellationToken) => _runner.Run(cancellationToken);

    /// <summary>One task per partition number, its lanes partition p of every topic in the settings' order.</summary>
    private sealed class CoPartitioned(CoPartitionedSettings settings, ICoPartitionedTaskFactory factory, ILogger logger) : ILaneLayout
    {
        public PartitionAssignmentStrategy Assignor => PartitionAssignmentStrategy.Range;

        public IReadOnlyList<TopicPartition>? Assignment => null;

        public bool MergesByEventTime => true;

        public int LaneCapacity => settings.LaneCapacity;

        public IEnumerable<(string Key, TopicPartition[] Lanes)> TasksOf(List<TopicPartition> partitions)
        {
            foreach (var pair in partitions.GroupBy(p => p.Partition.Value).OrderBy(g => g.Key))
            {
                var topics = pair.Select(p => p.Topic).ToHashSet(StringComparer.Ordinal);
                if (!settings.Topics.All(topics.Contains) || topics.Count != settings.Topics.Count)
                {
                    var message = string.Create(CultureInfo.InvariantCulture, $"Group {settings.GroupId} assigned partition {pair.Key} of [{string.Join(", ", topics)}] without the same partition of every co-partitioned topic [{string.Join(", ", settings.Topics)}]: the topics must have equal partition counts and the group must use the range assignor.");
                    logger.LogCritical("{Message}", message);
                    throw new InvalidOperationException(message);
                }

                yield return (KeyOf(settings.GroupId, settings.Topics, pair.Key), [.. settings.Topics.Select(topic => new TopicPartition(topic, pair.Key))]);
            }
        }

        public byte[] Encode(TopicPartition[] lanes, long[] nextOffsets, long changelogGeneration, byte[] state) => CheckpointStore.Encode(EncodeCheckpoint(nextOffsets, changelogGeneration, state));

        public (long[] NextOffsets, long ChangelogGeneration, byte[] State) Decode(byte[] value, TopicPartition[] lanes) => DecodeCheckpoint(CheckpointStore.Decode(value), lanes.Length);

        public IPartitionTask Create(TopicPartition[] lanes, byte[]? state, IReadOnlyDictionary<string, byte[]> changelog) => factory.Create(lanes[0].Partition.Value, state, changelog);

        public long EventTimeOf(int lane, ConsumeResult<byte[], byte[]> record) => factory.EventTimeOf(lane, record);
    }
}
