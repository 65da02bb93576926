using StreamMonitor.Contracts;

namespace StreamMonitor.Streams;

/// <summary>
/// An epoch-aligned event-time window: ranges are [start, start + size) with starts at multiples of the advance.
/// Tumbling when advance == size; hopping when advance &lt; size. State is kept in panes of gcd(size, advance), so a
/// record updates exactly one pane and a hopping window is the merge of its size/pane consecutive panes.
/// Defined over the whole range of <see cref="long"/>: the arithmetic is exact (128-bit) and a start that would fall
/// before <see cref="long.MinValue"/> saturates to it, so no event time, however absurd, can wrap a result or a loop.
/// </summary>
public sealed record WindowSpec
{
    /// <summary>Creates a window spec; size must be a positive multiple of nothing in particular, advance in (0, size].</summary>
    public WindowSpec(long sizeMs, long advanceMs)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(sizeMs);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(advanceMs);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(advanceMs, sizeMs);
        SizeMs = sizeMs;
        AdvanceMs = advanceMs;
        PaneMs = Gcd(sizeMs, advanceMs);
    }

    /// <summary>A tumbling window of the given size.</summary>
    public static WindowSpec Tumbling(TimeSpan size) => new((long)size.TotalMilliseconds, (long)size.TotalMilliseconds);

    /// <summary>Window length in milliseconds.</summary>
    public long SizeMs { get; }

    /// <summary>Distance between consecutive window starts in milliseconds.</summary>
    public long AdvanceMs { get; }

    /// <summary>Pane length: gcd(size, advance).</summary>
    public long PaneMs { get; }

    /// <summary>Size (and advance, when hopping) in <see cref="Durations"/> notation: "10s", "1m", "5m/1m".</summary>
    public string Label => Durations.FormatMilliseconds(SizeMs) + (AdvanceMs == SizeMs ? "" : "/" + Durations.FormatMilliseconds(AdvanceMs));

    /// <summary>
    /// Largest multiple of <paramref name="unit"/> (positive) not above <paramref name="t"/> (correct for negative t);
    /// <see cref="long.MinValue"/> when that multiple lies below it.
    /// </summary>
    public static long FloorTo(long t, long unit) => Saturating.Clamp(Floor(t, unit));

    /// <summary>Start of the pane holding event time <paramref name="t"/>.</summary>
    public long PaneStart(long t) => FloorTo(t, PaneMs);

    /// <summary>Start of the latest window containing <paramref name="t"/>.</summary>
    public long LastWindowStart(long t) => FloorTo(t, AdvanceMs);

    /// <summary>Start of the earliest window containing <paramref name="t"/>: the smallest aligned s with s + size &gt; t.</summary>
    public long FirstWindowStart(long t) => Saturating.Clamp(FirstStart(t));

    /// <summary>
    /// Starts of every window containing <paramref name="t"/>, ascending (at most size / advance of them). Starts
    /// before <see cref="long.MinValue"/> saturate to it and are returned once.
    /// </summary>
    public IEnumerable<long> WindowStartsContaining(long t)
    {
        // 128-bit: near long.MaxValue the next start would wrap to a negative one and the loop would never end.
        var last = Floor(t, AdvanceMs);
        var previous = (long?)null;
        for (var s = FirstStart(t); s <= last; s += AdvanceMs)
        {
            var start = Saturating.Clamp(s);
            if (start != previous)
            {
                previous = start;
                yield return start;
            }
        }
    }

    /// <summary>
    /// Whether a window starting at <paramref name="startMs"/> has closed at <paramref name="streamTimeMs"/>: its end
    /// plus <paramref name="graceMs"/> is at or before the stream time. Exact: a window whose close lies beyond
    /// <see cref="long.MaxValue"/> never closes.
    /// </summary>
    public bool IsClosed(long startMs, long graceMs, long streamTimeMs) => CloseOf(startMs, graceMs) <= streamTimeMs;

    /// <summary>End + <paramref name="graceMs"/> of the window starting at <paramref name="startMs"/>, exactly (may exceed <see cref="long.MaxValue"/>).</summary>
    public Int128 CloseOf(long startMs, long graceMs) => (Int128)startMs + SizeMs + graceMs;

    private static Int128 Floor(Int128 t, long unit)
    {
        var r = t % unit;
        return r < 0 ? t - r - unit : t - r;
    }

    private Int128 FirstStart(long t) => Floor((Int128)t - SizeMs, AdvanceMs) + AdvanceMs;

    private static long Gcd(long a, long b)
    {
        while (b != 0)
        {
            (a, b) = (b, a % b);
        }

        return a;
    }
}
