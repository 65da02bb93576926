using System.Globalization;
using Confluent.Kafka;

namespace StreamMonitor.Streams;

/// <summary>
/// One task of a <see cref="TaskRunner"/> and its lanes (one input partition each: one lane for a partitioned task,
/// partition p of every topic for a co-partitioned one, every partition for an assign-all one): the order the lanes'
/// records are handed in (an event-time merge, or arrival), the next offset and pause of every lane, and the ends of
/// partition its lanes reported, which count only once their upstream is caught up (see
/// <see cref="CoPartitionedSettings.UpstreamCaughtUp"/>).
/// </summary>
internal sealed class TaskLanes(IPartitionTask task, string key, TopicPartition[] lanes, long[] nextOffsets, EventTimeMerge? merge, ChangelogPartition? changelog)
{
    /// <summary>Lanes whose consumer reported end of partition, not yet counted.</summary>
    private readonly bool[] _endPending = new bool[lanes.Length];

    /// <summary>Per lane, the offset its last end of partition was reported at.</summary>
    private readonly long[] _endOffsets = new long[lanes.Length];

    /// <summary>Without a merge: records in the order they arrived.</summary>
    private readonly Queue<(int Lane, ConsumeResult<byte[], byte[]> Record)> _arrived = new();

    /// <summary>Without a merge: lanes at partition end that received nothing since.</summary>
    private readonly bool[] _atEnd = new bool[lanes.Length];

    /// <summary>The task's changelog; null without a changelog topic or for a task that keeps none.</summary>
    public ChangelogPartition? Changelog { get; } = changelog;

    public IPartitionTask Task { get; } = task;

    public string Key { get; } = key;

    /// <summary>The input partition of each lane, in lane order.</summary>
    public TopicPartition[] Lanes { get; } = lanes;

    /// <summary>The task in logs: "topic[p]" for one lane, "partition p of topic+topic" for co-partitioned lanes.</summary>
    public string Name => Lanes.Length == 1 ? string.Create(CultureInfo.InvariantCulture, $"{Lanes[0].Topic}[{Partition}]")
        : Lanes.All(l => l.Partition.Value == Partition) ? string.Create(CultureInfo.InvariantCulture, $"partition {Partition} of {string.Join('+', Lanes.Select(l => l.Topic))}")
        : string.Create(CultureInfo.InvariantCulture, $"{Key} ({Lanes.Length} partitions)");

    /// <summary>The partition number of the first lane (of every lane of a co-partitioned task; its changelog partition).</summary>
    public int Partition => Lanes[0].Partition.Value;

    public long[] NextOffsets { get; } = nextOffsets;

    public bool[] Paused { get; } = new bool[lanes.Length];

    /// <summary>True when <paramref name="lane"/> buffers enough to be paused (never in arrival order: nothing is held).</summary>
    public bool IsFull(int lane) => merge?.IsFull(lane) ?? false;

    /// <summary>True when a paused <paramref name="lane"/> may resume.</summary>
    public bool HasRoom(int lane) => merge?.HasRoom(lane) ?? true;

    /// <summary>True when every lane is at partition end with nothing buffered: the task has read all there is.</summary>
    public bool CaughtUp => merge?.CaughtUp ?? (_arrived.Count == 0 && _atEnd.All(end => end));

    /// <summary>The next record to hand to the task, in event time (a merge) or arrival order; false while none is due.</summary>
    public bool TryNext(out int lane, out ConsumeResult<byte[], byte[]> record)
    {
        if (merge is not null)
        {
            return merge.TryNext(out lane, out record);
        }

        var any = _arrived.TryDequeue(out var next);
        (lane, record) = any ? next : (-1, null!);
        return any;
    }

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
        if (merge is not null)
        {
            return merge.Add(lane, record, eventTimeMs);
        }

        _arrived.Enqueue((lane, record));
        _atEnd[lane] = false;
        return true;
    }

    /// <summary>
    /// Marks the lanes whose reported end of partition counts: at once without <paramref name="upstreamCaughtUp"/>;
    /// with it, once the lane's upstream is caught up and <paramref name="highWatermark"/> of the lane (asked after that)
    /// is where the end was reported. <paramref name="ended"/> is told each lane whose end counts.
    /// </summary>
    public void ConfirmEnds(Func<int, bool>? upstreamCaughtUp, Func<int, long> highWatermark, Action<int> ended)
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
            if (merge is null)
            {
                _atEnd[lane] = true;
            }
            else
            {
                merge.MarkEnd(lane);
            }

            ended(lane);
        }
    }
}
