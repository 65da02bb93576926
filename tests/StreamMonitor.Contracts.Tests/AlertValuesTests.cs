using StreamMonitor.Contracts;

namespace StreamMonitor.Contracts.Tests;

/// <summary>Alert values read with their units (the demo's latency-regression row once printed "2.5E+04 / 2485").</summary>
public sealed class AlertValuesTests
{
    [Theory]
    [InlineData(24_873.0, "24.87 ms")]
    [InlineData(2_485.0, "2.49 ms")]
    [InlineData(850.0, "850 us")]
    [InlineData(1_250_000.0, "1.25 s")]
    public void Latencies_are_in_the_largest_unit_that_keeps_them_at_least_one(double microseconds, string expected) =>
        Assert.Equal(expected, AlertValues.Latency(microseconds));

    [Fact]
    public void A_latency_regression_reads_in_milliseconds()
    {
        var alert = new Alert { Kind = AlertKind.LATENCY_REGRESSION, Value = 25_000, Threshold = 2_485 };
        Assert.Equal("25 ms", AlertValues.Value(alert));
        Assert.Equal("2.49 ms", AlertValues.Threshold(alert));
    }

    [Fact]
    public void A_burn_rate_alert_shows_its_long_window_burn_rate_against_its_threshold()
    {
        var alert = new Alert { Kind = AlertKind.SLO_BURN_RATE, LongBurnRate = 15.234, Threshold = 14.4 };
        Assert.Equal("15.23x", AlertValues.Value(alert));
        Assert.Equal("14.4x", AlertValues.Threshold(alert));
    }

    [Fact]
    public void Missing_values_are_empty() =>
        Assert.Equal("", AlertValues.Value(new Alert { Kind = AlertKind.DATA_MISSING }));
}
