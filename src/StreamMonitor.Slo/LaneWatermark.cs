using StreamMonitor.Contracts.Time;

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
/// Positions, caught-up flags and the front are a <see cref="LaneWatermarks"/> (a caught-up lane is idle there), and
/// the idle span is its <see cref="IdleRule"/>: the same rule the aggregator's tasks apply.
/// </summary>
public sealed class LaneWatermark
{
    private readonly LaneWatermarks _lanes;

    // Registered lanes whose start-up backlog is not read to its end yet.
    private readonly HashSet<string> _initial = new(StringComparer.Ordinal);

    /// <summary>Creates the watermark with the span a caught-up lane may hold it behind the most advanced lane.</summary>
    public LaneWatermark(TimeSpan idleSpan)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(idleSpan, TimeSpan.Zero);
        IdleSpanMs = (long)idleSpan.TotalMilliseconds;
        _lanes = new LaneWatermarks(new IdleRule(IdleSpanMs));
    }

    /// <summary>A caught-up lane holds the watermark at most this far (event time, ms) behind the most advanced lane.</summary>
    public long IdleSpanMs { get; }

    /// <summary>The watermark; null before it is defined.</summary>
    public long? Current { get; private set; }

    /// <summary>The most advanced lane's position; null before any lane has data.</summary>
    public long? Front => _lanes.Front;

    /// <summary>True while a registered lane has not been read to its end once (its start-up backlog).</summary>
    public bool Starting => _initial.Count > 0;

    /// <summary>True while a lane may still have unread records (registered and not caught up, or read since it was last caught up).</summary>
    public bool Waiting => _lanes.Lanes.Any(l => !l.Idle);

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
        _lanes.SetIdle(lane, false);
        _initial.Add(lane);
        Recompute();
    }

    /// <summary>Records a window end read from a lane and returns the watermark.</summary>
    public long? Observe(string lane, long windowEndMs)
    {
        ArgumentNullException.ThrowIfNull(lane);
        _lanes.SetIdle(lane, false);
        _lanes.Observe(lane, windowEndMs);
        Recompute();
        return Current;
    }

    /// <summary>The lane reached its end (nothing more to read for now) and returns the watermark.</summary>
    public long? MarkCaughtUp(string lane)
    {
        ArgumentNullException.ThrowIfNull(lane);
        _lanes.SetIdle(lane, true);
        _initial.Remove(lane);
        Recompute();
        return Current;
    }

    /// <summary>Lane positions for a checkpoint (whether a lane is caught up is found again after a restart).</summary>
    public Dictionary<string, long> Capture() =>
        _lanes.Lanes.Where(l => l.Position is not null).ToDictionary(l => l.Name, l => l.Position!.Value, StringComparer.Ordinal);

    /// <summary>Restores lane positions and the watermark from a checkpoint.</summary>
    public void Restore(IReadOnlyDictionary<string, long> positions, long? current)
    {
        ArgumentNullException.ThrowIfNull(positions);
        foreach (var (lane, position) in positions)
        {
            // A lane new here counts as caught up until the caller registers its backlog (Expect) or a record arrives.
            if (!_lanes.Contains(lane))
            {
                _lanes.SetIdle(lane, true);
            }

            _lanes.Observe(lane, position);
        }

        // Not recomputed here: the caller registers the lanes whose backlog is still to be read (Expect) next.
        Current = current;
    }

    private void Recompute()
    {
        var front = _lanes.Front ?? long.MinValue;
        var min = long.MaxValue;
        foreach (var lane in _lanes.Lanes)
        {
            if (!lane.Idle)
            {
                if (lane.Position is not { } position || _initial.Contains(lane.Name))
                {
                    return;
                }

                min = Math.Min(min, position);
            }
            else if (lane.Position is { } p)
            {
                min = Math.Min(min, _lanes.Rule.Raise(p, front));
            }
        }

        if (min != long.MaxValue && (Current is not { } current || min > current))
        {
            Current = min;
        }
    }
}
