using StreamMonitor.Contracts.Time;

namespace StreamMonitor.Slo;

/// <summary>
/// The alerter's tick groups: which input topic each group's SLOs and rules read, so which lanes its ticks wait for.
/// </summary>
public enum TickGroup
{
    /// <summary>Latency results: latency and availability SLOs, latency regression.</summary>
    Latency,

    /// <summary>Drift results: drift rules.</summary>
    Drift,

    /// <summary>Quality results: quality SLOs.</summary>
    Quality,
}

/// <summary>
/// One <see cref="LaneWatermark"/> per <see cref="TickGroup"/>, so a group's ticks wait only for the partitions of the
/// topic it reads (a latency SLO is never held by a sparse or trailing quality partition). One idle rule, with one
/// <c>LaneIdleSpan</c>, at both levels: what has been read to its end holds a watermark at most the span behind the
/// front. Inside a group, a caught-up lane counts at max(position, group front - span); and a group with no lane
/// waiting (every partition of its topic read to its end: its input stopped, trails by design, or never had data) is
/// raised to the most advanced lane of all inputs minus the span, once every start-up backlog has been read, so its
/// ticks (and missing-data decisions) go on. Each group's watermark never moves back.
/// </summary>
public sealed class GroupWatermarks
{
    private readonly Dictionary<TickGroup, LaneWatermark> _groups = [];
    private readonly IdleRule _rule;

    /// <summary>Creates the watermarks with the span of the idle rule.</summary>
    public GroupWatermarks(TimeSpan idleSpan)
    {
        foreach (var group in Enum.GetValues<TickGroup>())
        {
            _groups[group] = new LaneWatermark(idleSpan);
        }

        IdleSpanMs = (long)idleSpan.TotalMilliseconds;
        _rule = new IdleRule(IdleSpanMs);
    }

    /// <summary>The idle span (event time, ms).</summary>
    public long IdleSpanMs { get; }

    /// <summary>A group's watermark; null before it is defined.</summary>
    public long? Current(TickGroup group) => _groups[group].Current;

    /// <summary>Registers a lane whose backlog is still to be read (it holds its group until read to its end once).</summary>
    public void Expect(TickGroup group, string lane)
    {
        // Not settled: registering moves nothing, and right after a restore a group whose lanes are not registered yet
        // must not be taken for idle.
        _groups[group].Expect(lane);
    }

    /// <summary>Records a window end read from a lane of a group.</summary>
    public void Observe(TickGroup group, string lane, long windowEndMs)
    {
        _groups[group].Observe(lane, windowEndMs);
        Settle();
    }

    /// <summary>The lane reached its end (nothing more to read for now).</summary>
    public void MarkCaughtUp(TickGroup group, string lane)
    {
        _groups[group].MarkCaughtUp(lane);
        Settle();
    }

    /// <summary>Lane positions of every group for a checkpoint (lane names are unique across groups).</summary>
    public Dictionary<string, long> CaptureLanes()
    {
        var lanes = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var watermark in _groups.Values)
        {
            foreach (var (lane, position) in watermark.Capture())
            {
                lanes[lane] = position;
            }
        }

        return lanes;
    }

    /// <summary>Each defined group watermark, for a checkpoint.</summary>
    public Dictionary<TickGroup, long> CaptureCurrent() =>
        _groups.Where(g => g.Value.Current is not null).ToDictionary(g => g.Key, g => g.Value.Current!.Value);

    /// <summary>
    /// Restores lane positions (each to the group <paramref name="groupOf"/> names; a lane of no group is dropped) and
    /// each group's watermark. The caller registers the lanes whose backlog is still to be read (<see cref="Expect"/>) next.
    /// </summary>
    public void Restore(IReadOnlyDictionary<string, long> lanes, Func<string, TickGroup?> groupOf, Func<TickGroup, long?> current)
    {
        ArgumentNullException.ThrowIfNull(lanes);
        ArgumentNullException.ThrowIfNull(groupOf);
        ArgumentNullException.ThrowIfNull(current);
        foreach (var (group, watermark) in _groups)
        {
            var positions = lanes.Where(l => groupOf(l.Key) == group).ToDictionary(l => l.Key, l => l.Value, StringComparer.Ordinal);
            watermark.Restore(positions, current(group));
        }
    }

    /// <summary>
    /// Raises every group that waits for nothing to the front of all inputs minus the idle span, once every start-up
    /// backlog has been read (until then the front depends on which partitions were fetched first).
    /// </summary>
    private void Settle()
    {
        if (_groups.Values.Any(g => g.Starting) || _groups.Values.Max(g => g.Front) is not { } front)
        {
            return;
        }

        foreach (var watermark in _groups.Values)
        {
            watermark.RaiseIdleTo(_rule.Floor(front));
        }
    }
}
