namespace StreamMonitor.Streams.Tests;

/// <summary>The spec owns a window's close (end + grace) and the late decision; callers no longer add them up.</summary>
public sealed class WindowSpecGraceTests
{
    [Fact]
    public void A_window_closes_at_end_plus_grace_and_a_record_is_late_once_its_last_window_closed()
    {
        var spec = new WindowSpec(10_000, 5_000, 2_000);
        Assert.Equal(2_000, spec.GraceMs);
        Assert.Equal((Int128)22_000, spec.CloseTime(10_000));
        Assert.False(spec.IsClosed(10_000, 21_999));
        Assert.True(spec.IsClosed(10_000, 22_000));

        // 12_000 lies in [5_000, 15_000) and [10_000, 20_000); the latter closes at 22_000.
        Assert.False(spec.IsLate(12_000, 21_999));
        Assert.True(spec.IsLate(12_000, 22_000));
        Assert.False(spec.IsLate(12_000, long.MinValue));
    }

    [Fact]
    public void WithGrace_keeps_the_windows_and_a_negative_grace_is_refused()
    {
        var spec = new WindowSpec(60_000, 60_000);
        Assert.Equal(0, spec.GraceMs);
        var graced = spec.WithGrace(5_000);
        Assert.Equal((spec.SizeMs, spec.AdvanceMs, spec.PaneMs, 5_000L), (graced.SizeMs, graced.AdvanceMs, graced.PaneMs, graced.GraceMs));
        Assert.Equal(spec.Label, graced.Label);
        Assert.Throws<ArgumentOutOfRangeException>(() => new WindowSpec(60_000, 60_000, -1));
    }

    [Fact]
    public void A_close_beyond_the_range_of_long_is_never_reached()
    {
        var spec = new WindowSpec(10_000, 10_000, 5_000);
        Assert.True(spec.CloseTime(spec.LastWindowStart(long.MaxValue)) > long.MaxValue);
        Assert.False(spec.IsLate(long.MaxValue, long.MaxValue));
        Assert.Equal(long.MaxValue, spec.ClampedCloseTime(spec.LastWindowStart(long.MaxValue)));
        Assert.Equal(long.MaxValue, spec.OpenThrough(spec.LastWindowStart(long.MaxValue)));
    }

    [Fact]
    public void A_window_is_open_through_the_instant_before_its_close()
    {
        var spec = new WindowSpec(60_000, 60_000, 5_000);
        Assert.Equal(65_000, spec.ClampedCloseTime(0));
        Assert.Equal(64_999, spec.OpenThrough(0));
        Assert.False(spec.IsClosed(0, spec.OpenThrough(0)));
        Assert.True(spec.IsClosed(0, spec.ClampedCloseTime(0)));
    }
}
