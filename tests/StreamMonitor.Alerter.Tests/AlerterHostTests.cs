using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using StreamMonitor.Hosting;
using StreamMonitor.Slo;

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
        await app.Services.GetRequiredService<Microsoft.Extensions.Options.IAsyncStartupValidator>().ValidateAsync(CancellationToken.None);
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
}
