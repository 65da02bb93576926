using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using StreamMonitor.Hosting;

namespace StreamMonitor.Scorer.Tests;

/// <summary>The scorer host as Program.cs builds it: <see cref="ScorerServiceCollectionExtensions.AddScorer"/> over the shared host.</summary>
public sealed class ScorerHostTests
{
    [Fact]
    public async Task The_host_built_from_AddScorer_validates_its_default_options_and_resolves_its_hosted_services()
    {
        // The scorer's appsettings.json leaves the broker to the deployment; nothing here connects to it.
        var builder = StreamMonitorHost.CreateBuilder("scorer", ["--Urls=http://127.0.0.1:0", "--Kafka:BootstrapServers=127.0.0.1:9092"], defaultPort: 8081);
        builder.AddScorer();
        await using var app = builder.Build();

        await app.Services.GetRequiredService<IAsyncStartupValidator>().ValidateAsync(CancellationToken.None);
        var hosted = app.Services.GetServices<IHostedService>().Select(s => s.GetType()).ToList();
        Assert.Contains(typeof(ModelWatcher), hosted);
        Assert.Contains(typeof(ScorerWorker), hosted);
        Assert.Same(app.Services.GetRequiredService<ModelRegistry>(), app.Services.GetRequiredService<ModelRegistry>());
        Assert.Equal(["cancer"], app.Services.GetRequiredService<IOptions<ScorerOptions>>().Value.Models);
    }
}
