using Microsoft.Extensions.Configuration;
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
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddValidatedOptions<AggregatorOptions>(AggregatorOptions.SectionName);
        builder.Services.AddHostedService<AggregatorWorker>();
        // Read from configuration, not options: the registration is decided before the container exists.
        if (builder.Configuration.GetSection(AggregatorOptions.SectionName).GetValue("InfluxEnabled", true))
        {
            builder.Services.AddHostedService<ResultProjector>();
        }

        return builder;
    }
}
