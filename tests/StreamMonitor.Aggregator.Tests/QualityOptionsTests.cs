using System.ComponentModel.DataAnnotations;
using StreamMonitor.Aggregator.Quality;
using StreamMonitor.Kafka;

namespace StreamMonitor.Aggregator.Tests;

public class QualityOptionsTests
{
    private static List<string> Errors(Action<QualityOptions> configure)
    {
        var options = new AggregatorOptions();
        configure(options.Quality);
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true);
        return results.Select(r => r.ErrorMessage!).ToList();
    }

    [Fact]
    public void Defaults_are_valid_one_minute_windows_and_a_seven_day_horizon()
    {
        Assert.Empty(Errors(_ => { }));
        var settings = new QualityOptions().ToSettings(new TopicCatalog());
        Assert.Equal(60_000, settings.Window.SizeMs);
        Assert.Equal(settings.Window.SizeMs, settings.Window.AdvanceMs);
        Assert.Equal(7 * 86_400_000L, settings.LabelHorizonMs);
        Assert.Equal(60_000, settings.UpdateIntervalMs);
        Assert.Equal(5_000, settings.Window.GraceMs);
        Assert.Equal(600_000, settings.IdleTimeoutMs);
    }

    [Theory]
    [InlineData("Window", "soon")]
    [InlineData("LabelHorizon", "-1d")]
    [InlineData("UpdateInterval", "")]
    [InlineData("Grace", "5 s")]
    [InlineData("IdleTimeout", "0m")]
    public void A_value_that_is_not_a_duration_fails_validation(string key, string value)
    {
        var errors = Errors(q => typeof(QualityOptions).GetProperty(key)!.SetValue(q, value));
        Assert.Contains(errors, e => e.Contains("Aggregator:Quality:" + key, StringComparison.Ordinal));
    }

    [Fact]
    public void Inconsistent_durations_and_lane_capacity_fail_validation()
    {
        Assert.Contains(Errors(q => { q.Window = "1h"; q.LabelHorizon = "30m"; }), e => e.Contains("LabelHorizon must be at least one Window", StringComparison.Ordinal));
        Assert.Contains(Errors(q => { q.UpdateInterval = "8d"; }), e => e.Contains("UpdateInterval must not exceed LabelHorizon", StringComparison.Ordinal));
        Assert.Contains(Errors(q => q.LaneCapacity = 2), e => e.Contains("LaneCapacity", StringComparison.Ordinal));
    }
}
