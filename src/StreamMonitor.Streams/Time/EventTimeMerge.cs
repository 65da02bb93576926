using Confluent.Kafka;

namespace StreamMonitor.Streams;

/// <summary>
/// Merges the records of co-partitioned lanes (e.g. predictions p and labels p) into one sequence ordered by event
/// time, so a task sees the same order however the consumer interleaved its fetches. Each lane keeps its own order
/// (partition order); the merge releases the lane head with the smallest event time (ties: the lower lane index). A lane
/// with nothing buffered blocks the others, unless it is at partition end (the consumer reported EOF and no record came
/// after it): then the others go on without it. Hence the order equals a replay's as long as no lane trails the others
/// by more than what they have buffered when it reaches its end.
/// </summary>
public sealed class EventTimeMerge
{
    private readonly Lane[] _lanes;

    /// <summary>Creates a merge of <paramref name="lanes"/> lanes, each buffering up to <paramref name="capacity"/> records
    /// before <see cref="IsFull"/> asks the caller to pause it.</summary>
    public EventTimeMerge(int lanes, int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(lanes, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 2);
        Capacity = capacity;
        _lanes = Enumerable.Range(0, lanes).Select(_ => new Lane()).ToArray();
    }

    /// <summary>Records per lane at which the lane counts as full.</summary>
    public int Capacity { get; }

    /// <summary>Number of lanes.</summary>
    public int LaneCount => _lanes.Length;

    /// <summary>Records buffered in <paramref name="lane"/>.</summary>
    public int Buffered(int lane) => _lanes[lane].Records.Count;

    /// <summary>True when <paramref name="lane"/> holds <see cref="Capacity"/> records or more (pause it).</summary>
    public bool IsFull(int lane) => _lanes[lane].Records.Count >= Capacity;

    /// <summary>True when <paramref name="lane"/> has drained to half its capacity (a paused lane may resume).</summary>
    public bool HasRoom(int lane) => _lanes[lane].Records.Count <= Capacity / 2;

    /// <summary>True when <paramref name="lane"/> reported partition end and has received nothing since.</summary>
    public bool AtEnd(int lane) => _lanes[lane].AtEnd;

    /// <summary>True when every lane is at partition end with nothing buffered: the task has read all there is.</summary>
    public bool CaughtUp => _lanes.All(l => l.AtEnd && l.Records.Count == 0);

    /// <summary>
    /// Buffers a record of <paramref name="lane"/> with its event time. A record at an offset below the lane's next
    /// expected offset (a re-fetch after a pause) is ignored; returns false then.
    /// </summary>
    public bool Add(int lane, ConsumeResult<byte[], byte[]> record, long eventTimeMs)
    {
        ArgumentNullException.ThrowIfNull(record);
        var state = _lanes[lane];
        if (record.Offset.Value < state.NextOffset)
        {
            return false;
        }

        state.Records.Enqueue((record, eventTimeMs));
        state.NextOffset = record.Offset.Value + 1;
        state.AtEnd = false;
        return true;
    }

    /// <summary>The consumer reached the end of <paramref name="lane"/>'s partition.</summary>
    public void MarkEnd(int lane) => _lanes[lane].AtEnd = true;

    /// <summary>Releases the next record in event-time order, or returns false while a lane without records blocks.</summary>
    public bool TryNext(out int lane, out ConsumeResult<byte[], byte[]> record)
    {
        lane = -1;
        record = null!;
        var best = long.MaxValue;
        for (var i = 0; i < _lanes.Length; i++)
        {
            var state = _lanes[i];
            if (state.Records.Count == 0)
            {
                if (!state.AtEnd)
                {
                    lane = -1;
                    return false;
                }

                continue;
            }

            var time = state.Records.Peek().EventTimeMs;
            if (lane < 0 || time < best)
            {
                lane = i;
                best = time;
            }
        }

        if (lane < 0)
        {
            return false;
        }

        record = _lanes[lane].Records.Dequeue().Record;
        return true;
    }

    private sealed class Lane
    {
        public Queue<(ConsumeResult<byte[], byte[]> Record, long EventTimeMs)> Records { get; } = new();

        public long NextOffset { get; set; } = long.MinValue;

        public bool AtEnd { get; set; }
    }
}
