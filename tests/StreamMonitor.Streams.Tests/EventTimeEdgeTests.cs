using StreamMonitor.Contracts;
using StreamMonitor.Streams;

namespace StreamMonitor.Streams.Tests;

/// <summary>
/// Window arithmetic at the ends of the long range: an event time of long.MaxValue once wrapped the window loop into
/// a 100 % CPU hang. Every call here must terminate (guarded, so a regression fails instead of hanging the run) and
/// agree with an exact 128-bit definition.
/// </summary>
public class EventTimeEdgeTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);

    private static void Terminates(Action action)
    {
        var run = Task.Run(action);
        Assert.True(run.Wait(Limit), "did not terminate: the event-time arithmetic wrapped");
    }

    [Fact]
    public void Saturating_arithmetic_clamps_at_the_ends_and_is_exact_inside()
    {
        Assert.Equal(long.MaxValue, Saturating.Add(long.MaxValue, 1));
        Assert.Equal(long.MaxValue, Saturating.Add(long.MaxValue - 5, 3, 3));
        Assert.Equal(long.MaxValue - 1, Saturating.Add(long.MaxValue - 5, 2, 2));
        Assert.Equal(long.MinValue, Saturating.Subtract(long.MinValue, 1));
        Assert.Equal(long.MinValue, Saturating.Add(long.MinValue, -1));
        Assert.Equal(-1, Saturating.Add(long.MaxValue, long.MinValue));

        // Exact before clamping: an intermediate overflow does not saturate a result that fits.
        Assert.Equal(long.MaxValue - 1, Saturating.Add(long.MaxValue, 5, -6));
        Assert.Equal(long.MaxValue, Saturating.Subtract(0, long.MinValue));
    }

    [Theory]
    [InlineData(long.MaxValue, 1_000, long.MaxValue - 807)]
    [InlineData(long.MaxValue, 1, long.MaxValue)]
    [InlineData(long.MaxValue - 807, 1_000, long.MaxValue - 807)]
    [InlineData(long.MaxValue - 808, 1_000, long.MaxValue - 1_807)]
    [InlineData(long.MinValue + 808, 1_000, long.MinValue + 808)]
    [InlineData(long.MinValue + 809, 1_000, long.MinValue + 808)]
    [InlineData(long.MinValue, 1, long.MinValue)]
    [InlineData(long.MinValue, 1_000, long.MinValue)] // the floor lies below long.MinValue: saturates
    [InlineData(long.MinValue + 807, 1_000, long.MinValue)]
    public void FloorTo_is_exact_near_the_ends_and_saturates_below_MinValue(long t, long unit, long expected) =>
        Assert.Equal(expected, WindowSpec.FloorTo(t, unit));

    [Theory]
    [InlineData(10_000, 10_000)]
    [InlineData(60_000, 20_000)]
    [InlineData(45_000, 30_000)]
    [InlineData(7, 1)]
    public void Window_starts_containing_a_time_near_the_ends_are_the_exact_ones(long size, long advance)
    {
        var spec = new WindowSpec(size, advance);
        var times = new List<long>();
        for (long k = 0; k < 200_000; k += 997)
        {
            times.Add(long.MaxValue - k);
            times.Add(long.MinValue + k);
        }

        times.AddRange([long.MaxValue, long.MinValue, 0, -1]);
        Terminates(() =>
        {
            foreach (var t in times)
            {
                var expected = ExactStarts(t, size, advance);
                Assert.Equal(expected, spec.WindowsContaining(t).Starts());
                Assert.Equal(expected[0], spec.FirstWindowStart(t));
                Assert.Equal(expected[^1], spec.LastWindowStart(t));
            }
        });
    }

    [Fact]
    public void A_window_whose_close_lies_beyond_MaxValue_never_closes_and_a_record_at_MaxValue_is_not_late()
    {
        var spec = new WindowSpec(10_000, 10_000);
        var table = new WindowedTable<CountState>([spec], 5_000, () => new CountState());
        var closed = new List<WindowResult<CountState>>();
        Terminates(() =>
        {
            Assert.Equal(0, table.Add("m|1", 1_000, s => s.Count++, s => s.Late++, closed));
            Assert.Equal(0, table.Add("m|1", long.MaxValue, s => s.Count++, s => s.Late++, closed));
            Assert.Equal(0, table.Add("m|1", long.MaxValue, s => s.Count++, s => s.Late++, closed));
            table.AdvanceTo(long.MaxValue, closed);
            table.FlushIdle(long.MaxValue, 0, closed);
        });

        var first = Assert.Single(closed);
        Assert.Equal((0L, 1L, true), (first.Window.StartMs, first.State.Count, first.Final));
        Assert.Equal(long.MaxValue, table.StreamTime);
        Assert.True(spec.WithGrace(5_000).CloseTime(spec.LastWindowStart(long.MaxValue)) > long.MaxValue);
        Assert.Equal(1, table.PaneCount);
        Assert.False(table.Specs[0].IsLate(long.MaxValue, table.StreamTime));
        Assert.True(table.Specs[0].IsLate(9_999, table.StreamTime));
        Assert.Equal(long.MaxValue, new Window(long.MaxValue - 807, spec.SizeMs).EndMs);
    }

    [Fact]
    public void Windows_near_MaxValue_match_the_exact_definition_for_tumbling_and_hopping()
    {
        var random = new Random(11);
        WindowSpec[] specs = [new WindowSpec(3_000, 3_000), new WindowSpec(3_000, 1_000), new WindowSpec(45_000, 30_000)];
        const long grace = 500;
        var table = new WindowedTable<CountState>(specs, grace, () => new CountState());
        var closed = new List<WindowResult<CountState>>();
        var expected = new Dictionary<(int Spec, long Start), long>();
        var streamTime = long.MinValue;
        var times = Enumerable.Range(0, 3_000).Select(_ => long.MaxValue - random.NextInt64(0, 120_000)).Append(long.MaxValue).ToList();
        Terminates(() =>
        {
            foreach (var t in times)
            {
                streamTime = Math.Max(streamTime, t);
                for (var s = 0; s < specs.Length; s++)
                {
                    foreach (var start in ExactStarts(t, specs[s].SizeMs, specs[s].AdvanceMs))
                    {
                        // Counted in every window containing it still open at its arrival; only closes within range happen.
                        var close = (Int128)start + specs[s].SizeMs + grace;
                        if (close > streamTime && close <= long.MaxValue)
                        {
                            expected[(s, start)] = expected.GetValueOrDefault((s, start)) + 1;
                        }
                    }
                }

                table.Add("m|1", t, st => st.Count++, st => st.Late++, closed);
            }

            table.AdvanceTo(long.MaxValue, closed);
        });

        var actual = closed.ToDictionary(c => (c.SpecIndex, c.Window.StartMs), c => c.State.Count);
        Assert.Equal(closed.Count, actual.Count);
        Assert.Equal(expected.OrderBy(e => e.Key).ToList(), actual.OrderBy(e => e.Key).ToList());
        Assert.NotEmpty(actual);
    }

    [Fact]
    public void Extreme_event_times_in_any_order_terminate_and_emit_each_window_once()
    {
        long[] extremes = [long.MinValue, long.MinValue + 1, -1, 0, 1_763_800_000_000, long.MaxValue - 1, long.MaxValue];
        WindowSpec[] specs = [new WindowSpec(10_000, 10_000), new WindowSpec(60_000, 20_000)];
        var random = new Random(5);
        Terminates(() =>
        {
            for (var round = 0; round < 50; round++)
            {
                var table = new WindowedTable<CountState>(specs, 5_000, () => new CountState());
                var closed = new List<WindowResult<CountState>>();
                foreach (var t in extremes.OrderBy(_ => random.Next()))
                {
                    table.Add("m|1", t, s => s.Count++, s => s.Late++, closed);
                    table.FlushIdle(long.MaxValue, 30_000, closed);
                }

                table.AdvanceTo(long.MaxValue, closed);
                var finals = closed.Where(c => c.Final).Select(c => (c.SpecIndex, c.Window.StartMs)).ToList();
                Assert.Equal(finals.Count, finals.Distinct().Count());
                Assert.All(closed, c => Assert.True(c.State.Count + c.State.Late <= extremes.Length));
            }
        });
    }

    /// <summary>The definition: aligned starts s with s ≤ t &lt; s + size, computed in 128 bits, those before long.MinValue saturated to it (once).</summary>
    private static List<long> ExactStarts(long t, long size, long advance)
    {
        Int128 Floor(Int128 x)
        {
            var r = x % advance;
            return r < 0 ? x - r - advance : x - r;
        }

        var starts = new List<long>();
        for (var s = Floor(t); s > (Int128)t - size; s -= advance)
        {
            var clamped = s < long.MinValue ? long.MinValue : (long)s;
            if (starts.Count == 0 || starts[^1] != clamped)
            {
                starts.Add(clamped);
            }
        }

        starts.Reverse();
        return starts;
    }
}
