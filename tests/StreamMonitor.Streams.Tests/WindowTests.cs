using StreamMonitor.Analytics;
using StreamMonitor.Contracts.State;
using StreamMonitor.Streams;

namespace StreamMonitor.Streams.Tests;

public sealed class CountState : IMergeable<CountState>
{
    public long Count { get; set; }

    public long Late { get; set; }

    public long Sum { get; set; }

    public void MergeFrom(CountState other)
    {
        Count += other.Count;
        Late += other.Late;
        Sum += other.Sum;
    }
}

public class WindowSpecTests
{
    [Theory]
    [InlineData(0, 10, 0)]
    [InlineData(9, 10, 0)]
    [InlineData(10, 10, 10)]
    [InlineData(-1, 10, -10)]
    [InlineData(-10, 10, -10)]
    [InlineData(-11, 10, -20)]
    public void FloorTo_aligns_to_the_epoch_for_negative_and_positive_times(long t, long unit, long expected) =>
        Assert.Equal(expected, WindowSpec.FloorTo(t, unit));

    [Fact]
    public void Hopping_windows_containing_a_time_are_exactly_those_with_start_le_t_lt_end()
    {
        var spec = new WindowSpec(60_000, 20_000);
        Assert.Equal(20_000, spec.PaneMs);
        for (long t = -100_000; t < 100_000; t += 1_234)
        {
            var expected = new List<long>();
            for (long s = -200_000; s <= 200_000; s += 20_000)
            {
                if (s <= t && t < s + 60_000)
                {
                    expected.Add(s);
                }
            }

            Assert.Equal(expected, spec.WindowsContaining(t).Starts());
        }
    }

    [Fact]
    public void Pane_is_gcd_of_size_and_advance_and_labels_use_largest_unit()
    {
        Assert.Equal(15_000, new WindowSpec(45_000, 30_000).PaneMs);
        Assert.Equal("10s", WindowSpec.Tumbling(TimeSpan.FromSeconds(10)).Label);
        Assert.Equal("1m", WindowSpec.Tumbling(TimeSpan.FromMinutes(1)).Label);
        Assert.Equal("1h", WindowSpec.Tumbling(TimeSpan.FromHours(1)).Label);
        Assert.Equal("5m/1m", new WindowSpec(300_000, 60_000).Label);
        Assert.Equal("1500ms", new WindowSpec(1500, 1500).Label);
    }
}

public class WindowedTableTests
{
    private static WindowedTable<CountState> Table(long grace, params WindowSpec[] specs) => new(specs, grace, () => new CountState());

    private static void Add(WindowedTable<CountState> table, long t, List<WindowResult<CountState>> closed, long value = 1) =>
        table.Add("m|1", t, s => { s.Count++; s.Sum += value; }, s => s.Late++, closed);

    [Fact]
    public void Window_is_start_inclusive_end_exclusive_and_closes_exactly_at_end_plus_grace()
    {
        var table = Table(2_000, new WindowSpec(10_000, 10_000));
        var closed = new List<WindowResult<CountState>>();
        Add(table, 0, closed);
        Add(table, 9_999, closed);
        Add(table, 10_000, closed); // next window
        Add(table, 11_999, closed);
        Assert.Empty(closed);
        Add(table, 8_000, closed); // out of order, within grace: still counted in [0, 10000)
        Add(table, 12_000, closed); // stream time = end + grace: [0, 10000) closes
        var first = Assert.Single(closed);
        Assert.Equal(0, first.Window.StartMs);
        Assert.Equal(3, first.State.Count);
        Assert.True(first.Final);

        closed.Clear();
        var late = table.Add("m|1", 9_000, s => s.Count++, s => s.Late++, closed);
        Assert.Equal(1, late);
        Add(table, 22_000, closed);
        var second = Assert.Single(closed);
        Assert.Equal(10_000, second.Window.StartMs);
        Assert.Equal(3, second.State.Count); // 10000, 11999, 12000; 22000 belongs to [20000, 30000)
        Assert.Equal(1, second.State.Late); // the late 9000 arrived while stream time was in [10000, 20000)
    }

    [Fact]
    public void Late_record_is_counted_in_the_window_holding_stream_time_never_dropped_silently()
    {
        var table = Table(0, new WindowSpec(1_000, 1_000));
        var closed = new List<WindowResult<CountState>>();
        Add(table, 5_500, closed);
        var mask = table.Add("m|1", 1_200, s => s.Count++, s => s.Late++, closed);
        Assert.Equal(1, mask);
        Add(table, 6_000, closed);
        var window = Assert.Single(closed);
        Assert.Equal(5_000, window.Window.StartMs);
        Assert.Equal(1, window.State.Count);
        Assert.Equal(1, window.State.Late);
    }

    [Fact]
    public void Windows_with_out_of_order_records_match_a_brute_force_definition_for_tumbling_and_hopping()
    {
        var random = new Random(7);
        WindowSpec[] specs = [new WindowSpec(10_000, 10_000), new WindowSpec(60_000, 20_000), new WindowSpec(45_000, 30_000)];
        const long grace = 3_000;
        var table = Table(grace, specs);
        var closed = new List<WindowResult<CountState>>();
        var expected = new Dictionary<(int Spec, long Start), long>();
        var streamTime = long.MinValue;
        long t = 1_000_000;
        for (var i = 0; i < 20_000; i++)
        {
            t += random.Next(0, 40);
            var eventTime = t - (random.NextDouble() < 0.2 ? random.Next(0, 8_000) : 0);
            streamTime = Math.Max(streamTime, eventTime);
            for (var s = 0; s < specs.Length; s++)
            {
                foreach (var window in specs[s].WindowsContaining(eventTime))
                {
                    var start = window.StartMs;
                    // Brute force: a record counts in every window containing it that is still open at its arrival.
                    if (start + specs[s].SizeMs + grace > streamTime)
                    {
                        expected[(s, start)] = expected.GetValueOrDefault((s, start)) + 1;
                    }
                }
            }

            Add(table, eventTime, closed);
        }

        table.AdvanceTo(long.MaxValue / 2, closed);
        var actual = closed.ToDictionary(c => (c.SpecIndex, c.Window.StartMs), c => c.State.Count);
        Assert.Equal(closed.Count, actual.Count); // each window emitted once
        Assert.Equal(expected.OrderBy(e => e.Key).ToList(), actual.OrderBy(e => e.Key).ToList());
        Assert.Equal(0, table.PaneCount);
    }

    [Fact]
    public void Idle_flush_emits_provisional_results_that_later_records_update_and_the_final_result_follows()
    {
        var table = Table(1_000, new WindowSpec(10_000, 10_000));
        var closed = new List<WindowResult<CountState>>();
        Add(table, 1_000, closed);
        Add(table, 2_000, closed);
        var flushed = new List<WindowResult<CountState>>();
        table.FlushIdle(watermarkMs: 15_000, idleMs: 5_000, flushed);
        Assert.Empty(flushed); // 10000 + 1000 + 5000 > 15000
        table.FlushIdle(watermarkMs: 16_000, idleMs: 5_000, flushed);
        var provisional = Assert.Single(flushed);
        Assert.False(provisional.Final);
        Assert.Equal(2, provisional.State.Count);
        flushed.Clear();
        table.FlushIdle(watermarkMs: 50_000, idleMs: 5_000, flushed);
        Assert.Empty(flushed); // unchanged since the last flush
        Add(table, 3_000, closed); // the partition was only slow: still counted
        table.FlushIdle(watermarkMs: 50_000, idleMs: 5_000, flushed);
        Assert.Equal(3, Assert.Single(flushed).State.Count);
        Add(table, 11_000, closed);
        var final = Assert.Single(closed);
        Assert.True(final.Final);
        Assert.Equal(3, final.State.Count);
    }

    [Fact]
    public void Restoring_a_snapshot_mid_stream_gives_the_same_results_as_an_uninterrupted_run()
    {
        var specs = new[] { new WindowSpec(10_000, 10_000), new WindowSpec(30_000, 10_000) };
        var random = new Random(3);
        var times = Enumerable.Range(0, 5_000).Select(i => (long)(i * 37) - random.Next(0, 4_000)).ToList();
        var reference = Table(2_000, specs);
        var all = new List<WindowResult<CountState>>();
        foreach (var time in times)
        {
            Add(reference, time, all, time);
        }

        var first = Table(2_000, specs);
        var resumed = new List<WindowResult<CountState>>();
        foreach (var time in times.Take(2_345))
        {
            Add(first, time, resumed, time);
        }

        var codec = WindowedTable<CountState>.Codec(() => Table(2_000, specs), CountCodec.Instance);
        var second = codec.Decode(codec.Encode(first));

        foreach (var time in times.Skip(2_345))
        {
            Add(second, time, resumed, time);
        }

        Assert.Equal(
            all.Select(r => (r.SpecIndex, r.Window.StartMs, r.State.Count, r.State.Late, r.State.Sum)),
            resumed.Select(r => (r.SpecIndex, r.Window.StartMs, r.State.Count, r.State.Late, r.State.Sum)));
    }
}
