using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Prometheus;
using StreamMonitor.Hosting;

namespace StreamMonitor.Scorer;

/// <summary>The scorer's wiring, so that the host (Program.cs, <see cref="ScorerApp"/>) only creates, builds and runs it.</summary>
public static class ScorerServiceCollectionExtensions
{
    /// <summary>Validated "Scorer" options, its metrics, the model registry and watcher, and the scoring worker.</summary>
    public static IHostApplicationBuilder AddScorer(this IHostApplicationBuilder builder)
    {
        // AddValidatedOptions checks the builder for null.
        builder.AddValidatedOptions<ScorerOptions>(ScorerOptions.SectionName).Services
            .AddSingleton(sp => new ScorerMetrics(sp.GetRequiredService<IMetricFactory>()))
            .AddSingleton<ModelRegistry>()
            .AddHostedService<ModelWatcher>()
            .AddHostedService<ScorerWorker>();
        return builder;
    }
}
