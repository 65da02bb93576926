namespace StreamMonitor.Contracts;

/// <summary>
/// Event-time arithmetic that cannot wrap: sums and differences are computed exactly and clamped to
/// [<see cref="long.MinValue"/>, <see cref="long.MaxValue"/>]. A wrapped sum turns a time in the far future into one
/// in the far past (a window that closes at once, a loop that never ends); a clamped one only stops at the end of time.
/// </summary>
public static class Saturating
{
    /// <summary><paramref name="a"/> + <paramref name="b"/>, clamped to the range of <see cref="long"/>.</summary>
    public static long Add(long a, long b) => Clamp((Int128)a + b);

    /// <summary><paramref name="a"/> + <paramref name="b"/> + <paramref name="c"/> (exact, then clamped once).</summary>
    public static long Add(long a, long b, long c) => Clamp((Int128)a + b + c);

    /// <summary><paramref name="a"/> − <paramref name="b"/>, clamped to the range of <see cref="long"/>.</summary>
    public static long Subtract(long a, long b) => Clamp((Int128)a - b);

    /// <summary><paramref name="value"/> clamped to the range of <see cref="long"/>.</summary>
    public static long Clamp(Int128 value) =>
        value > long.MaxValue ? long.MaxValue : value < long.MinValue ? long.MinValue : (long)value;
}
