using StreamMonitor.Contracts;

namespace StreamMonitor.Streams;

/// <summary>
/// An epoch-aligned event-time window: ranges are [start, start + size) with starts at multiples of the advance.
/// Tumbling when advance == size; hopping when advance &lt; size. A window closes when stream time reaches its end plus
/// the grace (<see cref="CloseTime"/>); a record is late when even the latest window containing it has closed
/// (<see cref="IsLate"/>): the spec owns this arithmetic, so no caller writes start + size + grace by hand. State is
/// kept in panes of gcd(size, advance), so a record updates exactly one pane and a hopping window is the merge of its
/// size/pane consecutive panes. <see cref="WindowsContaining"/> gives the windows holding an event time as
/// <see cref="Window"/> values.
/// Defined over the whole range of <see cref="long"/>: the arithmetic is exact (128-bit) and a start that would fall
/// before <see cref="long.MinValue"/> saturates to it, so no event time, however absurd, can wrap a result or a loop.
/// </summary>
public sealed record WindowSpec
{
    /// <summary>Creates a window spec: size positive, advance in (0, size], grace (after the end) not negative.</summary>
    public WindowSpec(long sizeMs, long advanceMs, long graceMs = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(sizeMs);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(advanceMs);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(advanceMs, sizeMs);
        ArgumentOutOfRangeException.ThrowIfNegative(graceMs);
        SizeMs = sizeMs;
        AdvanceMs = advanceMs;
        GraceMs = graceMs;
        PaneMs = Gcd(sizeMs, advanceMs);
    }

    /// <summary>A tumbling window of the given size.</summary>
    public static WindowSpec Tumbling(TimeSpan size) => new((long)size.TotalMilliseconds, (long)size.TotalMilliseconds);

    /// <summary>Window length in milliseconds.</summary>
    public long SizeMs { get; }

    /// <summary>Distance between consecutive window starts in milliseconds.</summary>
    public long AdvanceMs { get; }

    /// <summary>Time after a window's end during which out-of-order records are still accepted into it.</summary>
    public long GraceMs { get; }

    /// <summary>Pane length: gcd(size, advance).</summary>
    public long PaneMs { get; }

    /// <summary>The same windows with another grace.</summary>
    public WindowSpec WithGrace(long graceMs) => new(SizeMs, AdvanceMs, graceMs);

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
    /// Every window containing <paramref name="t"/> (start &lt;= t &lt; end), ascending (at most size / advance of them);
    /// allocation-free. Windows that would start before <see cref="long.MinValue"/> start at it and are returned once.
    /// </summary>
    public ContainingWindows WindowsContaining(long t) => new(FirstStart(t), Floor(t, AdvanceMs), AdvanceMs, SizeMs);

    /// <summary>End + grace of the window starting at <paramref name="startMs"/>, exactly (may exceed <see cref="long.MaxValue"/>).</summary>
    public Int128 CloseTime(long startMs) => (Int128)startMs + SizeMs + GraceMs;

    /// <summary>
    /// Whether the window starting at <paramref name="startMs"/> has closed at <paramref name="streamTimeMs"/>: its
    /// <see cref="CloseTime"/> is at or before the stream time. Exact: a window whose close lies beyond
    /// <see cref="long.MaxValue"/> never closes.
    /// </summary>
    public bool IsClosed(long startMs, long streamTimeMs) => CloseTime(startMs) <= streamTimeMs;

    /// <summary>
    /// <see cref="CloseTime"/> clamped to <see cref="long.MaxValue"/>, for callers that keep close times as
    /// <see cref="long"/> (a window closing beyond it then closes at the end of time).
    /// </summary>
    public long ClampedCloseTime(long startMs) => Saturating.Clamp(CloseTime(startMs));

    /// <summary>
    /// The last stream time at which the window starting at <paramref name="startMs"/> is still open
    /// (<see cref="CloseTime"/> − 1, clamped): a frontier below which it is not yet final.
    /// </summary>
    public long OpenThrough(long startMs) => Saturating.Clamp(CloseTime(startMs) - 1);

    /// <summary>
    /// Whether a record at <paramref name="eventTimeMs"/> is late at <paramref name="streamTimeMs"/>: even the latest
    /// window containing it has closed. Nothing is late before the first record (stream time <see cref="long.MinValue"/>).
    /// </summary>
    public bool IsLate(long eventTimeMs, long streamTimeMs) =>
        streamTimeMs != long.MinValue && IsClosed(LastWindowStart(eventTimeMs), streamTimeMs);

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
