using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Prometheus;
using StreamMonitor.Hosting;

namespace StreamMonitor.Scorer;

/// <summary>Builds the scorer's web host; Program runs it, tests and the benchmark host it in-process.</summary>
public static class ScorerApp
{
    /// <summary>The scorer host: validated "Scorer" options, model registry and watcher, the scoring worker, /metrics, /healthz, /readyz.</summary>
    public static WebApplication Build(string[] args)
    {
        var builder = StreamMonitorHost.CreateBuilder("scorer", args, defaultPort: 8081);
        builder.AddValidatedOptions<ScorerOptions>(ScorerOptions.SectionName);
        builder.Services.AddSingleton(sp => new ScorerMetrics(sp.GetRequiredService<IMetricFactory>()));
        builder.Services.AddSingleton<ModelRegistry>();
        builder.Services.AddHostedService<ModelWatcher>();
        builder.Services.AddHostedService<ScorerWorker>();
        var app = builder.Build();
        app.MapStreamMonitorEndpoints();
        return app;
    }
}
