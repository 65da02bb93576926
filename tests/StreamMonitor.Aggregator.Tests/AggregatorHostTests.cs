using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using StreamMonitor.Contracts;
using StreamMonitor.Hosting;

namespace StreamMonitor.Aggregator.Tests;

/// <summary>The aggregator host as Program.cs builds it: <see cref="AggregatorServiceCollectionExtensions.AddAggregator"/> over the shared host.</summary>
public sealed class AggregatorHostTests
{
    [Theory]
    [InlineData(null, true)]
    [InlineData("false", false)]
    public async Task The_host_built_from_AddAggregator_validates_its_default_options_and_resolves_its_hosted_services(string? influxEnabled, bool projector)
    {
        string[] args = influxEnabled is null ? ["--Urls=http://127.0.0.1:0"] : ["--Urls=http://127.0.0.1:0", $"--Aggregator:InfluxEnabled={influxEnabled}"];
        var builder = StreamMonitorHost.CreateBuilder("aggregator", args, defaultPort: 8082);
        builder.AddAggregator();
        await using var app = builder.Build();

        await app.Services.GetRequiredService<IAsyncStartupValidator>().ValidateAsync(CancellationToken.None);
        var hosted = app.Services.GetServices<IHostedService>().Select(s => s.GetType()).ToList();
        Assert.Contains(typeof(AggregatorWorker), hosted);
        Assert.Equal(projector, hosted.Contains(typeof(ResultProjector)));
        Assert.Equal(["10s", "1m"], app.Services.GetRequiredService<IOptions<AggregatorOptions>>().Value.Windows);
    }

    [Fact]
    public async Task A_former_millisecond_key_fails_start_up_naming_its_duration_successor()
    {
        var builder = StreamMonitorHost.CreateBuilder("aggregator", ["--Urls=http://127.0.0.1:0", "--Aggregator:GraceMs=2000", "--Aggregator:MergeRetentionMs=3600000"], defaultPort: 8082);
        builder.AddAggregator();
        await using var app = builder.Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => app.Services.GetRequiredService<IAsyncStartupValidator>().ValidateAsync(CancellationToken.None));
        Assert.Contains("Aggregator:GraceMs was renamed to Aggregator:Grace, a duration such as 2s", error.Failures);
        Assert.Contains("Aggregator:MergeRetentionMs was renamed to Aggregator:MergeRetention, a duration such as 1h", error.Failures);
    }

    [Theory]
    [InlineData("Grace", "0s and 1d")]
    [InlineData("IdleTimeout", "0s and 1d")]
    [InlineData("MergeGrace", "0s and 1d")]
    [InlineData("MergeRetention", "0s and 30d")]
    public async Task An_event_time_duration_with_a_fraction_of_a_millisecond_fails_start_up_instead_of_being_cut(string option, string range)
    {
        var builder = StreamMonitorHost.CreateBuilder("aggregator", ["--Urls=http://127.0.0.1:0", $"--Aggregator:{option}=00:00:01.0005"], defaultPort: 8082);
        builder.AddAggregator();
        await using var app = builder.Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => app.Services.GetRequiredService<IAsyncStartupValidator>().ValidateAsync(CancellationToken.None));
        Assert.Contains(error.Failures, f => f.Contains($"{option} must be between {range}, in whole milliseconds.", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Duration_options_bind_the_short_notation()
    {
        var builder = StreamMonitorHost.CreateBuilder("aggregator", ["--Urls=http://127.0.0.1:0", "--Aggregator:Grace=2s", "--Aggregator:CheckpointInterval=500ms"], defaultPort: 8082);
        builder.AddAggregator();
        await using var app = builder.Build();

        await app.Services.GetRequiredService<IAsyncStartupValidator>().ValidateAsync(CancellationToken.None);
        var options = app.Services.GetRequiredService<IOptions<AggregatorOptions>>().Value;
        Assert.Equal((TimeSpan.FromSeconds(2), TimeSpan.FromMilliseconds(500)), (options.Grace, options.CheckpointInterval));
    }

    [Theory]
    [InlineData("1m", "1m")]
    [InlineData("1s", "1s")]
    [InlineData("90s", "90s")]
    [InlineData("1.5m", "90s")]
    public async Task The_quality_window_binds_the_short_notation_and_tags_results_as_the_alerter_reads_it(string window, string tag)
    {
        var builder = StreamMonitorHost.CreateBuilder("aggregator", ["--Urls=http://127.0.0.1:0", $"--Aggregator:Quality:Window={window}", "--Aggregator:Quality:Grace=2s"], defaultPort: 8082);
        builder.AddAggregator();
        await using var app = builder.Build();

        await app.Services.GetRequiredService<IAsyncStartupValidator>().ValidateAsync(CancellationToken.None);
        var settings = app.Services.GetRequiredService<IOptions<AggregatorOptions>>().Value.Quality.ToSettings(new StreamMonitor.Kafka.TopicCatalog());
        // The window tag and the size the alerter's Alerter:QualityWindow must name, in the same notation.
        Assert.Equal((tag, Durations.ParseMilliseconds(window), 2_000L), (settings.Window.Label, settings.Window.SizeMs, settings.Window.GraceMs));
    }

    [Fact]
    public async Task A_quality_duration_that_is_not_a_duration_fails_start_up_naming_its_key()
    {
        var builder = StreamMonitorHost.CreateBuilder("aggregator", ["--Urls=http://127.0.0.1:0", "--Aggregator:Quality:LabelHorizon=soon"], defaultPort: 8082);
        builder.AddAggregator();
        await using var app = builder.Build();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => app.Services.GetRequiredService<IAsyncStartupValidator>().ValidateAsync(CancellationToken.None));
        Assert.Contains("Aggregator:Quality:LabelHorizon", error.Message, StringComparison.Ordinal);
    }
}
