using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace StreamMonitor.Hosting;

/// <summary>Hosted services that a boolean option can switch off (the InfluxDB projectors of the aggregator and the alerter).</summary>
public static class SwitchableHostedServiceExtensions
{
    /// <summary>
    /// Adds <typeparamref name="T"/> as a hosted service unless the configuration key <paramref name="switchKey"/>
    /// (e.g. "Aggregator:InfluxEnabled", default true) is false.
    /// </summary>
    public static IHostApplicationBuilder AddSwitchableHostedService<T>(this IHostApplicationBuilder builder, string switchKey)
        where T : class, IHostedService
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(switchKey);
        // Read from configuration, not options: the registration is decided before the container exists.
        if (builder.Configuration.GetValue(switchKey, true))
        {
            builder.Services.AddHostedService<T>();
        }

        return builder;
    }
}
