using StreamMonitor.Kafka;

namespace StreamMonitor.Streams;

/// <summary>Settings of one <see cref="CoPartitionedProcessor"/>.</summary>
/// <param name="GroupId">Consumer group; also the first component of checkpoint keys.</param>
/// <param name="Topics">The co-partitioned topics (lanes, in tie-break order: lane 0 wins equal event times).</param>
/// <param name="CheckpointEveryRecords">Checkpoint after this many records handed to tasks.</param>
/// <param name="CheckpointInterval">Checkpoint at least this often while records flow (bounds replay only).</param>
/// <param name="IdleCheckInterval">How often tasks are offered an idle flush.</param>
/// <param name="LaneCapacity">Records buffered per lane before it is paused (resumed at half).</param>
/// <param name="ChangelogTopic">Compacted topic, partitioned like the lanes, holding the state of
/// <see cref="IChangelogTask"/>s (partition p for task p); null: the whole state is in the checkpoint record.</param>
/// <param name="Progress">Where the loop reports liveness (/healthz: <see cref="ProgressWatchdog"/>): progress when
/// records are handed to tasks, the consumer's lag every <paramref name="IdleCheckInterval"/>; none when null.</param>
/// <param name="UpstreamCaughtUp">For a lane written by an in-process step (a repartition topic): whether that step has
/// written everything its own input holds so far. An end of partition on such a lane counts (it stops blocking the
/// other lanes) only once this is true and the broker's high watermark, asked afterwards, is the offset the end was
/// reported at: otherwise the lane's topic trails its upstream and the other lanes would run ahead of records still
/// being written. Null, or true for a lane: end of partition counts at once.</param>
public sealed record CoPartitionedSettings(string GroupId, IReadOnlyList<string> Topics, int CheckpointEveryRecords, TimeSpan CheckpointInterval, TimeSpan IdleCheckInterval, int LaneCapacity, string? ChangelogTopic = null, LoopProgress? Progress = null, Func<int, bool>? UpstreamCaughtUp = null);
