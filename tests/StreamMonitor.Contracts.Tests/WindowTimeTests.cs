using StreamMonitor.Contracts;

namespace StreamMonitor.Contracts.Tests;

public class WindowTimeTests
{
    [Theory]
    [InlineData(1_000, 60_000, 61_000)]
    [InlineData(-120_000, 60_000, -60_000)]
    [InlineData(long.MaxValue - 10, 10, long.MaxValue)]
    [InlineData(long.MaxValue - 10, 11, long.MaxValue)]
    [InlineData(long.MaxValue, long.MaxValue, long.MaxValue)]
    [InlineData(long.MinValue + 10, -11, long.MinValue)]
    public void A_window_end_is_start_plus_size_clamped_never_wrapped(long start, long size, long end)
    {
        Assert.Equal(end, WindowTime.End(start, size));
        Assert.Equal(end, new QualityWindowResult { WindowStartMs = start, WindowSizeMs = size }.WindowEndMs());
    }
}
