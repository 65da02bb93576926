namespace StreamMonitor.Reports;

/// <summary>A named half-open event-time range [StartMs, EndMs): a demo phase or a postmortem's incident window.</summary>
public sealed record EventTimeRange(string Name, long StartMs, long EndMs)
{
    /// <summary>Whether a window [start, start + size) lies inside the range (by its start).</summary>
    public bool ContainsWindow(long windowStartMs) => windowStartMs >= StartMs && windowStartMs < EndMs;

    /// <summary>Start as a UTC timestamp.</summary>
    public DateTimeOffset Start => DateTimeOffset.FromUnixTimeMilliseconds(StartMs);

    /// <summary>End as a UTC timestamp.</summary>
    public DateTimeOffset End => DateTimeOffset.FromUnixTimeMilliseconds(EndMs);
}
