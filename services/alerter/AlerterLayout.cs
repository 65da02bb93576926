using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using StreamMonitor.Kafka;
using StreamMonitor.Streams;

namespace StreamMonitor.Alerter;

/// <summary>
/// The alerter's configuration of the <see cref="TaskRunner"/>: every partition of its input topics assigned to this
/// process (no group membership: the evaluation is global across models and needs one clock), one task over all of
/// them (<see cref="AlerterTask"/>) handed records in arrival order, and its checkpoint an
/// <see cref="AlerterCheckpointFormat"/> record keyed by evaluator id. A checkpoint never records an input offset past
/// a dead letter that is not written yet (<see cref="DeadLetterPublisher.SafeCommitOffsets"/>): after a restart that
/// record is read and dead-lettered again; the results after it are applied again, which is harmless because applying
/// a result is an upsert by window.
/// </summary>
/// <param name="format">The checkpoint record format.</param>
/// <param name="evaluatorId">The task's checkpoint key.</param>
/// <param name="inputs">Every partition of the input topics.</param>
/// <param name="deadLetters">Holds offsets back below unwritten dead letters.</param>
/// <param name="create">Creates the task over its lanes from its restored state (null: none).</param>
/// <param name="logger">Logs restores.</param>
public sealed class AlerterLayout(AlerterCheckpointFormat format, string evaluatorId, IReadOnlyList<TopicPartition> inputs, DeadLetterPublisher deadLetters, Func<TopicPartition[], AlerterState?, IPartitionTask> create, ILogger logger) : ILaneLayout
{
    /// <summary>The sequence number of the last checkpoint written or restored.</summary>
    private long _sequence;

    /// <inheritdoc />
    public PartitionAssignmentStrategy Assignor => PartitionAssignmentStrategy.CooperativeSticky;

    /// <inheritdoc />
    public IReadOnlyList<TopicPartition>? Assignment => inputs;

    /// <inheritdoc />
    public bool MergesByEventTime => false;

    /// <inheritdoc />
    public int LaneCapacity => 2;

    /// <inheritdoc />
    public IEnumerable<(string Key, TopicPartition[] Lanes)> TasksOf(List<TopicPartition> partitions) => [(evaluatorId, [.. partitions])];

    /// <inheritdoc />
    public byte[] Encode(TopicPartition[] lanes, long[] nextOffsets, long changelogGeneration, byte[] state)
    {
        ArgumentNullException.ThrowIfNull(lanes);
        ArgumentNullException.ThrowIfNull(nextOffsets);
        var offsets = deadLetters.SafeCommitOffsets(lanes.Select((lane, i) => new TopicPartitionOffset(lane, nextOffsets[i])));
        logger.LogDebug("Checkpoint {Sequence} written ({Bytes} bytes)", _sequence + 1, state.Length);
        return format.Encode(++_sequence, state, offsets, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
    }

    /// <inheritdoc />
    public (long[] NextOffsets, long ChangelogGeneration, byte[] State) Decode(byte[] value, TopicPartition[] lanes)
    {
        ArgumentNullException.ThrowIfNull(lanes);
        var checkpoint = format.Decode(value);
        _sequence = checkpoint.Sequence;
        var restored = checkpoint.Offsets.ToDictionary(o => new TopicPartition(o.Topic, o.Partition), o => o.Offset);
        var offsets = lanes.Select(lane => restored.TryGetValue(lane, out var offset) ? offset : Offset.Beginning.Value).ToArray();
        logger.LogInformation("Restored checkpoint {Sequence} of {EvaluatorId}: offsets {Offsets}",
            checkpoint.Sequence, evaluatorId, string.Join(' ', checkpoint.Offsets.Select(o => $"{o.Topic}[{o.Partition}]@{o.Offset}")));
        return (offsets, 0, checkpoint.State);
    }

    /// <inheritdoc />
    public IPartitionTask Create(TopicPartition[] lanes, byte[]? state, IReadOnlyDictionary<string, byte[]> changelog)
    {
        if (state is null)
        {
            logger.LogInformation("No checkpoint for {EvaluatorId}: starting from the beginning of the result topics", evaluatorId);
        }

        return create(lanes, state is null ? null : AlerterCheckpointFormat.ReadState(state));
    }

    /// <inheritdoc />
    public long EventTimeOf(int lane, ConsumeResult<byte[], byte[]> record) => 0;
}
