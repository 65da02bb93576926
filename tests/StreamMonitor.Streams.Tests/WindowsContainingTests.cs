using StreamMonitor.Streams;

namespace StreamMonitor.Streams.Tests;

/// <summary>
/// <see cref="Window"/> and <see cref="WindowSpec.WindowsContaining"/> against the exact definition: the aligned
/// windows with start &lt;= t &lt; start + size, computed in 128 bits, including at the ends of the long range.
/// </summary>
public class WindowsContainingTests
{
    public static TheoryData<long, long> Specs => new() { { 10_000, 10_000 }, { 60_000, 20_000 }, { 45_000, 30_000 }, { 7, 1 }, { 7, 7 } };

    [Fact]
    public void A_window_contains_its_start_but_not_its_end()
    {
        var window = new Window(-20_000, 60_000);
        Assert.Equal(40_000, window.EndMs);
        Assert.True(window.Contains(-20_000));
        Assert.True(window.Contains(39_999));
        Assert.False(window.Contains(40_000));
        Assert.False(window.Contains(-20_001));
    }

    [Fact]
    public void A_window_ending_beyond_MaxValue_contains_MaxValue_and_its_end_saturates()
    {
        var beyond = new Window(long.MaxValue - 807, 1_000);
        Assert.Equal(long.MaxValue, beyond.EndMs);
        Assert.True(beyond.Contains(long.MaxValue));

        // 7 divides long.MaxValue: this window ends exactly there, so MaxValue is in the next one.
        var exact = new Window(long.MaxValue - 7, 7);
        Assert.Equal(long.MaxValue, exact.EndMs);
        Assert.False(exact.Contains(long.MaxValue));
        Assert.True(exact.Contains(long.MaxValue - 1));
        Assert.True(new Window(long.MinValue, 1).Contains(long.MinValue));
    }

    [Theory]
    [MemberData(nameof(Specs))]
    public void Windows_containing_a_time_are_exactly_the_aligned_ones_with_start_le_t_lt_end(long size, long advance)
    {
        var spec = new WindowSpec(size, advance);
        var times = new List<long> { long.MinValue, long.MaxValue, 0, -1, 1 };
        for (long k = 0; k < 30_000; k += 997)
        {
            times.AddRange([long.MaxValue - k, long.MinValue + k, k - 50_000]);
        }

        foreach (var t in times)
        {
            var actual = List(spec.WindowsContaining(t));
            Assert.Equal(Exact(t, size, advance), actual);
            Assert.All(actual, w => Assert.True(w.Contains(t), $"{w} does not contain {t}"));
            Assert.Equal(spec.FirstWindowStart(t), actual[0].StartMs);
            Assert.Equal(spec.LastWindowStart(t), actual[^1].StartMs);
        }
    }

    [Fact]
    public void Windows_that_would_start_before_MinValue_are_the_one_starting_at_it()
    {
        var spec = new WindowSpec(60_000, 20_000);
        var t = long.MinValue + 20_000;
        var windows = List(spec.WindowsContaining(t));

        // long.MinValue is 4_192 above an aligned start: the windows from there and 20_000 before it saturate to it.
        Assert.Equal([new Window(long.MinValue, 60_000), new Window(long.MinValue + 15_808, 60_000)], windows);
        Assert.Equal([new Window(long.MinValue, 60_000)], List(spec.WindowsContaining(long.MinValue)));
    }

    [Fact]
    public void Enumerating_the_windows_containing_a_time_allocates_nothing()
    {
        var spec = new WindowSpec(60_000, 1_000);
        var sum = Sum(spec, 0);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var t = 0L; t < 10_000; t += 7)
        {
            sum += Sum(spec, t);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.NotEqual(0, sum);
    }

    private static long Sum(WindowSpec spec, long t)
    {
        var sum = 0L;
        foreach (var window in spec.WindowsContaining(t))
        {
            sum += window.StartMs;
        }

        return sum;
    }

    private static List<Window> List(ContainingWindows windows)
    {
        var list = new List<Window>();
        foreach (var window in windows)
        {
            list.Add(window);
        }

        return list;
    }

    // Every multiple s of the advance with s <= t < s + size, in 128 bits; a start below long.MinValue is clamped to it.
    private static List<Window> Exact(long t, long size, long advance)
    {
        var windows = new List<Window>();
        for (var s = (Int128)t - size - advance; s <= t; s++)
        {
            if (s % advance == 0 && s + size > t)
            {
                var start = s < long.MinValue ? long.MinValue : (long)s;
                if (windows.Count == 0 || windows[^1].StartMs != start)
                {
                    windows.Add(new Window(start, size));
                }
            }
        }

        return windows;
    }
}
