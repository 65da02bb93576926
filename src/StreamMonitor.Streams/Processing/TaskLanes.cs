using System.Globalization;
using Confluent.Kafka;

namespace StreamMonitor.Streams;

/// <summary>
/// One task of a <see cref="TaskRunner"/> and its lanes (one input partition each: one lane for a partitioned task,
/// partition p of every topic for a co-partitioned one): the event-time merge of the lanes, the next offset and pause
/// of every lane, and the ends of partition its lanes reported, which count only once their upstream is caught up (see
/// <see cref="CoPartitionedSettings.UpstreamCaughtUp"/>).
/// </summary>
internal sealed class TaskLanes(IPartitionTask task, string key, TopicPartition[] lanes, long[] nextOffsets, EventTimeMerge merge, ChangelogPartition? changelog)
{
    /// <summary>Lanes whose consumer reported end of partition, not yet counted.</summary>
    private readonly bool[] _endPending = new bool[merge.LaneCount];

    /// <summary>Per lane, the offset its last end of partition was reported at.</summary>
    private readonly long[] _endOffsets = new long[merge.LaneCount];

    /// <summary>The task's changelog; null without a changelog topic or for a task that keeps none.</summary>
    public ChangelogPartition? Changelog { get; } = changelog;

    public IPartitionTask Task { get; } = task;

    public string Key { get; } = key;

    /// <summary>The input partition of each lane, in lane order.</summary>
    public TopicPartition[] Lanes { get; } = lanes;

    /// <summary>The task in logs: "topic[p]" for one lane, "partition p of topic+topic" for co-partitioned lanes.</summary>
    public string Name => Lanes.Length == 1
        ? string.Create(CultureInfo.InvariantCulture, $"{Lanes[0].Topic}[{Partition}]")
        : string.Create(CultureInfo.InvariantCulture, $"partition {Partition} of {string.Join('+', Lanes.Select(l => l.Topic))}");

    /// <summary>The partition number of the first lane (of every lane of a co-partitioned task; its changelog partition).</summary>
    public int Partition => Lanes[0].Partition.Value;

    public long[] NextOffsets { get; } = nextOffsets;

    public EventTimeMerge Merge { get; } = merge;

    public bool[] Paused { get; } = new bool[merge.LaneCount];

    public bool Dirty { get; set; }

    /// <summary>Whether a lane reported an end of partition that does not count yet.</summary>
    public bool EndPending => _endPending.Any(pending => pending);

    /// <summary>Records that <paramref name="lane"/> reported its end of partition at <paramref name="offset"/>.</summary>
    public void EndReported(int lane, long offset)
    {
        _endPending[lane] = true;
        _endOffsets[lane] = offset;
    }

    /// <summary>Buffers a fetched record (an end reported before it no longer holds); <see cref="EventTimeMerge.Add"/>'s answer.</summary>
    public bool Add(int lane, ConsumeResult<byte[], byte[]> record, long eventTimeMs)
    {
        _endPending[lane] = false;
        return Merge.Add(lane, record, eventTimeMs);
    }

    /// <summary>
    /// Marks the lanes whose reported end of partition counts: at once without <paramref name="upstreamCaughtUp"/>;
    /// with it, once the lane's upstream is caught up and <paramref name="highWatermark"/> of the lane (asked after that)
    /// is where the end was reported.
    /// </summary>
    public void ConfirmEnds(Func<int, bool>? upstreamCaughtUp, Func<int, long> highWatermark)
    {
        for (var lane = 0; lane < _endPending.Length; lane++)
        {
            if (!_endPending[lane])
            {
                continue;
            }

            if (upstreamCaughtUp is not null)
            {
                // The upstream first, then the watermark: a record the upstream wrote before it was caught up is below it.
                if (!upstreamCaughtUp(lane))
                {
                    continue;
                }

                if (highWatermark(lane) > _endOffsets[lane])
                {
                    // Records are on their way to the consumer: their end of partition will come after them.
                    _endPending[lane] = false;
                    continue;
                }
            }

            _endPending[lane] = false;
            Merge.MarkEnd(lane);
        }
    }
}
