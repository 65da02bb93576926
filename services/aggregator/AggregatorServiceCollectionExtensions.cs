using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using StreamMonitor.Hosting;

namespace StreamMonitor.Aggregator;

/// <summary>The aggregator's wiring, so that Program.cs only creates, builds and runs the host.</summary>
public static class AggregatorServiceCollectionExtensions
{
    /// <summary>
    /// Validated "Aggregator" options, the windowing worker and, unless Aggregator:InfluxEnabled is false, the
    /// <see cref="ResultProjector"/> that writes the result topics to InfluxDB.
    /// </summary>
    public static IHostApplicationBuilder AddAggregator(this IHostApplicationBuilder builder)
    {
        // AddValidatedOptions checks the builder for null.
        builder.AddValidatedOptions<AggregatorOptions>(AggregatorOptions.SectionName).Services.AddHostedService<AggregatorWorker>();
        return builder.AddSwitchableHostedService<ResultProjector>($"{AggregatorOptions.SectionName}:{nameof(AggregatorOptions.InfluxEnabled)}");
    }
}
