using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
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
}
