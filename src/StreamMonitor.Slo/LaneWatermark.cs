namespace StreamMonitor.Slo;

/// <summary>
/// Cross-partition event-time watermark of the alerter's inputs. A lane is one input partition; its position is the
/// largest window end seen on it (the order of records inside a partition does not matter: several writers share
/// it). Watermark = the minimum position over the counting lanes, never moving back. Which lanes count:
/// <list type="bullet">
/// <item>a lane with records still to read (registered with <see cref="Expect"/> and not caught up, or with a record
/// since it was last caught up) always counts, and holds the watermark back entirely until its first record: while
/// catching up (a restart, a replay) a partition fetched late cannot fall behind a partition fetched early;</item>
/// <item>a caught-up lane (end of partition reached) counts once it has data, unless its position is more than
/// <see cref="IdleSpanMs"/> behind the most advanced lane: a partition that receives no more keys, or a topic whose
/// results trail by design, stalls evaluation at most that long;</item>
/// <item>a caught-up lane that never had data (an empty partition, a topic with no data at all) does not count.</item>
/// </list>
/// </summary>
public sealed class LaneWatermark
{
    private readonly Dictionary<string, Lane> _lanes = new(StringComparer.Ordinal);

    /// <summary>Creates the watermark with the span after which a lagging caught-up lane stops counting.</summary>
    public LaneWatermark(TimeSpan idleSpan)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(idleSpan, TimeSpan.Zero);
        IdleSpanMs = (long)idleSpan.TotalMilliseconds;
    }

    /// <summary>A caught-up lane more than this (event time, ms) behind the most advanced lane stops counting.</summary>
    public long IdleSpanMs { get; }

    /// <summary>The watermark; null before it is defined.</summary>
    public long? Current { get; private set; }

    /// <summary>Registers a lane that may hold records not yet read: it holds the watermark until its first record or its end.</summary>
    public void Expect(string lane)
    {
        ArgumentNullException.ThrowIfNull(lane);
        var state = Get(lane);
        state.Backlog = true;
        Recompute();
    }

    /// <summary>Records a window end read from a lane and returns the watermark.</summary>
    public long? Observe(string lane, long windowEndMs)
    {
        ArgumentNullException.ThrowIfNull(lane);
        var state = Get(lane);
        state.Backlog = true;
        state.Position = state.Position is { } p ? Math.Max(p, windowEndMs) : windowEndMs;
        Recompute();
        return Current;
    }

    /// <summary>The lane reached its end (nothing more to read for now) and returns the watermark.</summary>
    public long? MarkCaughtUp(string lane)
    {
        ArgumentNullException.ThrowIfNull(lane);
        Get(lane).Backlog = false;
        Recompute();
        return Current;
    }

    /// <summary>Lane positions for a checkpoint (whether a lane is caught up is found again after a restart).</summary>
    public Dictionary<string, long> Capture() =>
        _lanes.Where(l => l.Value.Position is not null).ToDictionary(l => l.Key, l => l.Value.Position!.Value, StringComparer.Ordinal);

    /// <summary>Restores lane positions and the watermark from a checkpoint.</summary>
    public void Restore(IReadOnlyDictionary<string, long> positions, long? current)
    {
        ArgumentNullException.ThrowIfNull(positions);
        foreach (var (lane, position) in positions)
        {
            Get(lane).Position = position;
        }

        Current = current;
        Recompute();
    }

    private Lane Get(string lane)
    {
        if (!_lanes.TryGetValue(lane, out var state))
        {
            state = new Lane();
            _lanes[lane] = state;
        }

        return state;
    }

    private void Recompute()
    {
        var front = long.MinValue;
        foreach (var lane in _lanes.Values)
        {
            if (lane.Position is { } p)
            {
                front = Math.Max(front, p);
            }
        }

        var min = long.MaxValue;
        foreach (var lane in _lanes.Values)
        {
            if (lane.Backlog)
            {
                if (lane.Position is not { } position)
                {
                    return;
                }

                min = Math.Min(min, position);
            }
            else if (lane.Position is { } p && p >= front - IdleSpanMs)
            {
                min = Math.Min(min, p);
            }
        }

        if (min != long.MaxValue && (Current is not { } current || min > current))
        {
            Current = min;
        }
    }

    private sealed class Lane
    {
        public long? Position { get; set; }

        /// <summary>Records may still be unread (registered and not caught up, or read since it was last caught up).</summary>
        public bool Backlog { get; set; }
    }
}
