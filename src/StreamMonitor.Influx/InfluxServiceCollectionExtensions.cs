using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace StreamMonitor.Influx;

/// <summary>Registers the InfluxDB clients in a host.</summary>
public static class InfluxServiceCollectionExtensions
{
    /// <summary>Name of the HttpClient the InfluxDB clients use.</summary>
    public const string HttpClientName = "StreamMonitor.Influx";

    /// <summary>
    /// Registers a singleton <see cref="InfluxWriter"/> and <see cref="InfluxQueryClient"/> built from
    /// <c>IOptions&lt;InfluxOptions&gt;</c> (bound and validated by the host) with an HttpClient from IHttpClientFactory.
    /// The container disposes the writer on shutdown, which drains its buffer.
    /// </summary>
    public static IServiceCollection AddInfluxClients(this IServiceCollection services)
    {
        services.AddHttpClient(HttpClientName, client => client.Timeout = Timeout.InfiniteTimeSpan);
        services.AddSingleton(sp => new InfluxWriter(
            sp.GetRequiredService<IOptions<InfluxOptions>>().Value,
            sp.GetRequiredService<IHttpClientFactory>().CreateClient(HttpClientName),
            sp.GetRequiredService<ILogger<InfluxWriter>>(),
            sp.GetService<IMeterFactory>()));
        services.AddSingleton(sp => new InfluxQueryClient(
            sp.GetRequiredService<IOptions<InfluxOptions>>().Value,
            sp.GetRequiredService<IHttpClientFactory>().CreateClient(HttpClientName)));
        return services;
    }
}
