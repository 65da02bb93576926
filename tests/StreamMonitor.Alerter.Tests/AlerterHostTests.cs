using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using StreamMonitor.Hosting;
using StreamMonitor.Slo;
using StreamMonitor.Streams;

namespace StreamMonitor.Alerter.Tests;

/// <summary>The alerter host as Program.cs builds it: <see cref="AlerterServiceCollectionExtensions.AddAlerter"/> over the shared host.</summary>
public sealed class AlerterHostTests
{
    [Fact]
    public async Task The_host_built_from_AddAlerter_loads_the_default_slo_file_and_resolves_its_hosted_services()
    {
        // The alerter's appsettings.json leaves the broker to the deployment; nothing here connects to it.
        var builder = StreamMonitorHost.CreateBuilder("alerter", ["--Urls=http://127.0.0.1:0", "--Kafka:BootstrapServers=127.0.0.1:9092"], defaultPort: 8083);
        builder.AddAlerter();
        await using var app = builder.Build();

        Assert.Null(app.CheckAlerterConfiguration());
        await app.Services.GetRequiredService<IAsyncStartupValidator>().ValidateAsync(CancellationToken.None);
        Assert.NotEmpty(app.Services.GetRequiredService<IReadOnlyList<SloDefinition>>());
        var hosted = app.Services.GetServices<IHostedService>().Select(s => s.GetType()).ToList();
        Assert.Contains(typeof(AlerterWorker), hosted);
        Assert.Contains(typeof(NotificationWorker), hosted);
    }

    [Fact]
    public async Task A_missing_slo_file_is_a_configuration_problem_reported_before_start()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"no-such-slos-{Guid.NewGuid():N}.yaml");
        var builder = StreamMonitorHost.CreateBuilder("alerter", ["--Urls=http://127.0.0.1:0", $"--Alerter:SloFile={missing}"], defaultPort: 8083);
        builder.AddAlerter();
        await using var app = builder.Build();

        Assert.Contains("no-such-slos", app.CheckAlerterConfiguration(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, null, "10s", "1m")]
    [InlineData("1s", "90s", "1s", "90s")]
    [InlineData("00:00:01", "1.5m", "1s", "90s")]
    public async Task Result_windows_bind_either_notation_and_name_the_aggregators_window_tags(string? result, string? quality, string resultTag, string qualityTag)
    {
        List<string> args = ["--Urls=http://127.0.0.1:0", "--Kafka:BootstrapServers=127.0.0.1:9092"];
        if (result is not null)
        {
            args.Add($"--Alerter:ResultWindow={result}");
        }

        if (quality is not null)
        {
            args.AddRange([$"--Alerter:QualityWindow={quality}", $"--Alerter:DriftWindow={quality}"]);
        }

        var builder = StreamMonitorHost.CreateBuilder("alerter", [.. args], defaultPort: 8083);
        builder.AddAlerter();
        await using var app = builder.Build();

        await app.Services.GetRequiredService<IAsyncStartupValidator>().ValidateAsync(CancellationToken.None);
        var options = app.Services.GetRequiredService<IOptions<AlerterOptions>>().Value.ToEvaluatorOptions();
        // The aggregator tags a result with its WindowSpec's label: the alerter's sizes must format to the same text.
        Assert.Equal(
            (resultTag, qualityTag, qualityTag),
            (WindowSpec.Tumbling(options.ResultWindow).Label, WindowSpec.Tumbling(options.QualityWindow).Label, WindowSpec.Tumbling(options.DriftWindow).Label));
    }

    [Theory]
    [InlineData("Alerter:GroupWait", "soon")]
    [InlineData("Alerter:ResultWindow", "0s")]
    [InlineData("Alerter:ResolveHold", "-00:00:01")]
    public async Task A_bad_duration_fails_start_up_naming_its_key(string key, string value)
    {
        var builder = StreamMonitorHost.CreateBuilder("alerter", ["--Urls=http://127.0.0.1:0", "--Kafka:BootstrapServers=127.0.0.1:9092", $"--{key}={value}"], defaultPort: 8083);
        builder.AddAlerter();
        await using var app = builder.Build();

        var error = await Assert.ThrowsAnyAsync<Exception>(() => app.Services.GetRequiredService<IAsyncStartupValidator>().ValidateAsync(CancellationToken.None));
        Assert.Contains(key, error.Message, StringComparison.Ordinal);
    }
}
