using Confluent.Kafka;

namespace StreamMonitor.Alerter;

/// <summary>
/// Merges the assigned input partitions into one event-time order, so the evaluator sees window results in the
/// order of their window ends whatever the partitioning and fetch timing: a partition's records are buffered and
/// the record with the smallest window end among the partition heads is released only once every partition either
/// has a buffered record or is caught up (end of partition reached). Ties break by topic order, then partition, so
/// re-reading the same topics (a restart, a replay) releases the same sequence. Records that cannot be decoded get
/// the smallest window end: they are released (dead-lettered) as soon as they reach their partition's head.
/// Buffers are bounded: a partition holding <see cref="PauseAbove"/> records is paused until it drains.
/// </summary>
/// <typeparam name="T">Decoded record.</typeparam>
public sealed class EventTimeMerge<T>
{
    /// <summary>Buffered records above which a partition is paused.</summary>
    public const int PauseAbove = 5000;

    private readonly Dictionary<TopicPartition, Lane> _lanes = [];

    /// <summary>Registers the partitions in tie-break order.</summary>
    public EventTimeMerge(IEnumerable<TopicPartition> partitions)
    {
        ArgumentNullException.ThrowIfNull(partitions);
        var order = 0;
        foreach (var tp in partitions)
        {
            _lanes[tp] = new Lane(order++);
        }
    }

    /// <summary>Records buffered in all partitions.</summary>
    public int Buffered => _lanes.Values.Sum(l => l.Queue.Count);

    /// <summary>Buffers a consumed record; returns true when its partition should now be paused.</summary>
    public bool Add(TopicPartition partition, long windowEndMs, T item)
    {
        var lane = _lanes[partition];
        lane.CaughtUp = false;
        lane.Queue.Enqueue((windowEndMs, item));
        return lane.Queue.Count >= PauseAbove;
    }

    /// <summary>Marks a partition as caught up (end of partition reached).</summary>
    public void MarkCaughtUp(TopicPartition partition) => _lanes[partition].CaughtUp = true;

    /// <summary>Takes the next record in event-time order, if one can be released; <paramref name="resume"/> names a paused partition that drained.</summary>
    public bool TryTake(out TopicPartition partition, out T item, out bool resume)
    {
        partition = default!;
        item = default!;
        resume = false;
        Lane? best = null;
        foreach (var (tp, lane) in _lanes)
        {
            if (lane.Queue.Count == 0)
            {
                if (!lane.CaughtUp)
                {
                    return false;
                }

                continue;
            }

            var head = lane.Queue.Peek().WindowEndMs;
            if (best is null || head < best.Queue.Peek().WindowEndMs || (head == best.Queue.Peek().WindowEndMs && lane.Order < best.Order))
            {
                best = lane;
                partition = tp;
            }
        }

        if (best is null)
        {
            return false;
        }

        item = best.Queue.Dequeue().Item;
        resume = best.Queue.Count == PauseAbove / 5;
        return true;
    }

    private sealed class Lane(int order)
    {
        public int Order { get; } = order;

        public bool CaughtUp { get; set; }

        public Queue<(long WindowEndMs, T Item)> Queue { get; } = new();
    }
}
