using System.ComponentModel.DataAnnotations;
using System.Globalization;
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
    [InlineData("Window", "00:00:00")]
    [InlineData("LabelHorizon", "-1.00:00:00")]
    [InlineData("UpdateInterval", "00:00:00.0001")]
    [InlineData("Grace", "00:00:00")]
    [InlineData("IdleTimeout", "-00:00:01")]
    public void A_duration_that_is_not_a_positive_whole_number_of_milliseconds_fails_validation(string key, string value)
    {
        var errors = Errors(q => typeof(QualityOptions).GetProperty(key)!.SetValue(q, TimeSpan.Parse(value, CultureInfo.InvariantCulture)));
        Assert.Contains(errors, e => e.Contains("Aggregator:Quality:" + key, StringComparison.Ordinal));
    }

    [Fact]
    public void Inconsistent_durations_and_lane_capacity_fail_validation()
    {
        Assert.Contains(Errors(q => { q.Window = TimeSpan.FromHours(1); q.LabelHorizon = TimeSpan.FromMinutes(30); }), e => e.Contains("LabelHorizon must be at least one Window", StringComparison.Ordinal));
        Assert.Contains(Errors(q => { q.UpdateInterval = TimeSpan.FromDays(8); }), e => e.Contains("UpdateInterval must not exceed LabelHorizon", StringComparison.Ordinal));
        Assert.Contains(Errors(q => q.LaneCapacity = 2), e => e.Contains("LaneCapacity", StringComparison.Ordinal));
    }
}
