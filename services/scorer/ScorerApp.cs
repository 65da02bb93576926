using Microsoft.AspNetCore.Builder;
using StreamMonitor.Hosting;

namespace StreamMonitor.Scorer;

/// <summary>Builds the scorer's web host; Program runs it, tests and the benchmark host it in-process.</summary>
public static class ScorerApp
{
    /// <summary>The scorer host (<see cref="ScorerServiceCollectionExtensions.AddScorer"/>) with /metrics, /healthz, /readyz.</summary>
    public static WebApplication Build(string[] args)
    {
        var builder = StreamMonitorHost.CreateBuilder("scorer", args, defaultPort: 8081);
        builder.AddScorer();
        var app = builder.Build();
        app.MapStreamMonitorEndpoints();
        return app;
    }
}
