namespace StreamMonitor.Slo;

/// <summary>
/// Cross-partition event-time watermark of the alerter's inputs. A lane is one input partition; its position is the
/// largest window end seen on it (the order of records inside a partition does not matter: several writers share
/// it). Watermark = the minimum position over the counting lanes, never moving back. A lane counts once it has
/// received a record (a partition, or a whole topic, that never receives data holds nothing back) and stops counting
/// while its position is more than <see cref="IdleSpanMs"/> behind the most advanced lane (a partition that receives
/// no more keys, or a topic whose results trail by design, cannot stall evaluation beyond that span).
/// </summary>
public sealed class LaneWatermark
{
    private readonly Dictionary<string, long> _positions = new(StringComparer.Ordinal);

    /// <summary>Creates the watermark with the span after which a lagging lane stops counting.</summary>
    public LaneWatermark(TimeSpan idleSpan)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(idleSpan, TimeSpan.Zero);
        IdleSpanMs = (long)idleSpan.TotalMilliseconds;
    }

    /// <summary>A lane more than this (event time, ms) behind the most advanced lane stops counting.</summary>
    public long IdleSpanMs { get; }

    /// <summary>The watermark; null before any record.</summary>
    public long? Current { get; private set; }

    /// <summary>Lanes seen.</summary>
    public int Lanes => _positions.Count;

    /// <summary>Records a window end seen on a lane and returns the watermark.</summary>
    public long? Observe(string lane, long windowEndMs)
    {
        ArgumentNullException.ThrowIfNull(lane);
        if (!_positions.TryGetValue(lane, out var position) || windowEndMs > position)
        {
            _positions[lane] = windowEndMs;
            Recompute();
        }

        return Current;
    }

    /// <summary>Lane positions for a checkpoint.</summary>
    public Dictionary<string, long> Capture() => new(_positions, StringComparer.Ordinal);

    /// <summary>Restores lane positions (and so the watermark) from a checkpoint.</summary>
    public void Restore(IReadOnlyDictionary<string, long> positions, long? current)
    {
        ArgumentNullException.ThrowIfNull(positions);
        foreach (var (lane, position) in positions)
        {
            _positions[lane] = position;
        }

        Current = current;
        Recompute();
    }

    private void Recompute()
    {
        var front = long.MinValue;
        foreach (var p in _positions.Values)
        {
            front = Math.Max(front, p);
        }

        var min = long.MaxValue;
        foreach (var p in _positions.Values)
        {
            if (p >= front - IdleSpanMs)
            {
                min = Math.Min(min, p);
            }
        }

        if (Current is not { } current || min > current)
        {
            Current = min;
        }
    }
}
