namespace StreamMonitor.Contracts.Time;

/// <summary>
/// The one idle rule of every watermark: a lane (an input partition, a stage-A source, a result partition) that has
/// consumed all of its input for now, and trails the front (the most advanced lane) by at least the idle span, is idle:
/// it may hold a watermark at most the span behind the front. Stage A announces a source idle by <see cref="IsIdle"/>;
/// the quality join and the alerter's lanes count a caught-up lane at <see cref="Raise"/>. Event time, never the clock;
/// the arithmetic saturates, so no front or position near the ends of <see cref="long"/> can wrap it.
/// </summary>
/// <param name="SpanMs">The idle span (event time, ms), not negative.</param>
public readonly record struct IdleRule(long SpanMs)
{
    /// <summary>The least position a caught-up lane counts at: front − span, clamped (<see cref="long.MinValue"/> before any front).</summary>
    public long Floor(long frontMs) => Saturating.Subtract(frontMs, SpanMs);

    /// <summary>Where a caught-up lane at <paramref name="positionMs"/> counts: max(position, front − span).</summary>
    public long Raise(long positionMs, long frontMs) => Math.Max(positionMs, Floor(frontMs));

    /// <summary>
    /// Whether a caught-up lane at <paramref name="positionMs"/> is idle at <paramref name="frontMs"/>: it has no data
    /// yet, or the front has reached its position + span.
    /// </summary>
    public bool IsIdle(long positionMs, long frontMs) => positionMs == long.MinValue || frontMs >= Saturating.Add(positionMs, SpanMs);
}
