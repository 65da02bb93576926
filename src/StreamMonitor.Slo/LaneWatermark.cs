namespace StreamMonitor.Slo;

/// <summary>
/// Event-time watermark of one tick group's inputs (<see cref="GroupWatermarks"/> holds one per group). A lane is one
/// input partition; its position is the largest window end seen on it (the order of records inside a partition does
/// not matter: several writers share it). Watermark = the minimum position over the counting lanes, never moving back.
/// Which lanes count:
/// <list type="bullet">
/// <item>a lane registered with <see cref="Expect"/> holds the watermark entirely until it has reached its end once:
/// on start (a restart, a replay) the whole backlog is applied before any tick is decided, so the order in which the
/// partitions are fetched, and the order of the records inside each (an early emission followed much later by the
/// full value), cannot change a decision;</item>
/// <item>after that, a lane with a record read since it was last caught up counts however far behind it is;</item>
/// <item>a caught-up lane (end of partition reached) counts once it has data, but holds the watermark at most
/// <see cref="IdleSpanMs"/> behind the most advanced lane of this watermark (<see cref="Front"/>): it counts at
/// max(position, front - idle span). A sparse partition (results keyed by window hash over few partitions) or one that
/// receives no more keys delays evaluation at most that long, and a result it receives later is late only when its
/// window end is more than idle span + allowed lateness behind the front;</item>
/// <item>a caught-up lane that never had data (an empty partition) does not count.</item>
/// </list>
/// </summary>
public sealed class LaneWatermark
{
    private readonly Dictionary<string, Lane> _lanes = new(StringComparer.Ordinal);

    /// <summary>Creates the watermark with the span a caught-up lane may hold it behind the most advanced lane.</summary>
    public LaneWatermark(TimeSpan idleSpan)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(idleSpan, TimeSpan.Zero);
        IdleSpanMs = (long)idleSpan.TotalMilliseconds;
    }

    /// <summary>A caught-up lane holds the watermark at most this far (event time, ms) behind the most advanced lane.</summary>
    public long IdleSpanMs { get; }

    /// <summary>The watermark; null before it is defined.</summary>
    public long? Current { get; private set; }

    /// <summary>The most advanced lane's position; null before any lane has data.</summary>
    public long? Front => _lanes.Values.Max(l => l.Position);

    /// <summary>True while a registered lane has not been read to its end once (its start-up backlog).</summary>
    public bool Starting => _lanes.Values.Any(l => l.Initial);

    /// <summary>True while a lane may still have unread records (registered and not caught up, or read since it was last caught up).</summary>
    public bool Waiting => _lanes.Values.Any(l => l.Backlog);

    /// <summary>
    /// Moves the watermark up to <paramref name="floorMs"/> when no lane is waiting (every partition read to its end):
    /// nothing known is still to come, so a group whose input stopped or trails follows the other inputs (see
    /// <see cref="GroupWatermarks"/>). Returns the watermark.
    /// </summary>
    public long? RaiseIdleTo(long floorMs)
    {
        if (!Waiting && (Current is not { } current || floorMs > current))
        {
            Current = floorMs;
        }

        return Current;
    }

    /// <summary>Registers a lane whose backlog is still to be read: it holds the watermark until it has reached its end once.</summary>
    public void Expect(string lane)
    {
        ArgumentNullException.ThrowIfNull(lane);
        var state = Get(lane);
        state.Backlog = true;
        state.Initial = true;
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
        var state = Get(lane);
        state.Backlog = false;
        state.Initial = false;
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

        // Not recomputed here: the caller registers the lanes whose backlog is still to be read (Expect) next.
        Current = current;
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
                if (lane.Initial || lane.Position is not { } position)
                {
                    return;
                }

                min = Math.Min(min, position);
            }
            else if (lane.Position is { } p)
            {
                min = Math.Min(min, Math.Max(p, front - IdleSpanMs));
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

        /// <summary>Registered and not caught up yet: its start-up backlog is still being read.</summary>
        public bool Initial { get; set; }
    }
}
