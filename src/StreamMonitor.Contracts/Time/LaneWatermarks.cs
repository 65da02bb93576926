namespace StreamMonitor.Contracts.Time;

/// <summary>
/// The one watermark type: per lane (an input partition, a stage-A source, a result partition) its position, the
/// largest event time read on it (it never moves back), and whether it is idle (has consumed all of its input for
/// now); the front is the most advanced lane. Owners decide from it, with the one <see cref="IdleRule"/>: the merge
/// stage counts a window complete when every source has passed its close and expires it only when the lagging
/// sources are idle; the alerter's <c>LaneWatermark</c> counts a caught-up lane at <see cref="IdleRule.Raise"/>. Not
/// thread-safe (each owner is one task or one loop).
/// </summary>
public sealed class LaneWatermarks
{
    private readonly Dictionary<string, WatermarkLane> _lanes = new(StringComparer.Ordinal);

    /// <summary>Creates the watermarks with their idle rule.</summary>
    public LaneWatermarks(IdleRule rule)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rule.SpanMs);
        Rule = rule;
    }

    /// <summary>The idle rule.</summary>
    public IdleRule Rule { get; }

    /// <summary>Every lane known, with or without data.</summary>
    public IReadOnlyCollection<WatermarkLane> Lanes => _lanes.Values;

    /// <summary>The most advanced lane's position; null before any lane has data.</summary>
    public long? Front
    {
        get
        {
            long? front = null;
            foreach (var lane in _lanes.Values)
            {
                if (lane.Position is { } p && (front is not { } f || p > f))
                {
                    front = p;
                }
            }

            return front;
        }
    }

    /// <summary>Whether the lane is known (observed, or marked idle or not).</summary>
    public bool Contains(string lane) => _lanes.ContainsKey(lane);

    /// <summary>The lane's position; null when it is unknown or has no data.</summary>
    public long? Position(string lane) => _lanes.TryGetValue(lane, out var state) ? state.Position : null;

    /// <summary>The lane's position; <see cref="long.MinValue"/> when it is unknown or has no data.</summary>
    public long PositionOrMin(string lane) => Position(lane) ?? long.MinValue;

    /// <summary>Whether the lane is known and idle.</summary>
    public bool IsIdle(string lane) => _lanes.TryGetValue(lane, out var state) && state.Idle;

    /// <summary>Raises the lane's position to <paramref name="timeMs"/>; true when the lane had none or it rose.</summary>
    public bool Observe(string lane, long timeMs)
    {
        var state = Get(lane);
        if (state.Position is { } p && timeMs <= p)
        {
            return false;
        }

        state.Position = timeMs;
        return true;
    }

    /// <summary>Marks the lane idle or not; true when that changed.</summary>
    public bool SetIdle(string lane, bool idle)
    {
        var state = Get(lane);
        if (state.Idle == idle)
        {
            return false;
        }

        state.Idle = idle;
        return true;
    }

    private WatermarkLane Get(string lane)
    {
        ArgumentNullException.ThrowIfNull(lane);
        if (!_lanes.TryGetValue(lane, out var state))
        {
            state = new WatermarkLane(lane);
            _lanes[lane] = state;
        }

        return state;
    }
}

/// <summary>One lane of <see cref="LaneWatermarks"/>.</summary>
public sealed class WatermarkLane
{
    internal WatermarkLane(string name) => Name = name;

    /// <summary>The lane's name.</summary>
    public string Name { get; }

    /// <summary>The largest event time read on it; null before any.</summary>
    public long? Position { get; internal set; }

    /// <summary>It has consumed all of its input for now.</summary>
    public bool Idle { get; internal set; }
}
