using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Prometheus;
using StreamMonitor.Contracts;
using StreamMonitor.Influx;
using StreamMonitor.Kafka;

namespace StreamMonitor.Hosting;

/// <summary>The host every StreamMonitor service starts from.</summary>
public static class StreamMonitorHost
{
    /// <summary>
    /// A web application builder with: configuration from appsettings.json, appsettings.{Environment}.json,
    /// environment variables (Kafka__BootstrapServers) and command-line flags (--Kafka:BootstrapServers=...), in
    /// increasing precedence over built-in defaults; single-line console logging with UTC timestamps
    /// (Logging:Console:FormatterName=json for JSON lines); <see cref="KafkaOptions"/> ("Kafka") and
    /// <see cref="InfluxOptions"/> ("Influx") validated at start-up; the InfluxDB writer and query client (created on first use); a <see cref="IReadinessGate"/>,
    /// a <see cref="ProgressWatchdog"/> for /healthz (<see cref="HealthOptions"/>, "Health"),
    /// <see cref="ServiceIdentity"/> and prometheus-net's <see cref="IMetricFactory"/>; listening on
    /// http://127.0.0.1:<paramref name="defaultPort"/> unless "Urls" (or --urls) says otherwise: /metrics and the
    /// probes are reachable from other hosts only when a deployment asks for it (docker-compose.yml sets
    /// Urls=http://+:port, as a container must).
    /// </summary>
    /// <param name="serviceName">Service name, e.g. "scorer".</param>
    /// <param name="args">Command-line arguments.</param>
    /// <param name="defaultPort">HTTP port when "Urls" is not configured (scorer 8081, aggregator 8082, alerter 8083).</param>
    public static WebApplicationBuilder CreateBuilder(string serviceName, string[] args, int defaultPort = 8080)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(serviceName);
        ArgumentNullException.ThrowIfNull(args);
        // TimeSpan options bind "5s" as well as "00:00:05": one duration notation in every settings file.
        Durations.RegisterTimeSpanConverter();
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            ContentRootPath = AppContext.BaseDirectory,
        });

        // Lowest precedence: every other source overrides these.
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource
        {
            InitialData = new Dictionary<string, string?>
            {
                ["Urls"] = $"http://127.0.0.1:{defaultPort.ToString(CultureInfo.InvariantCulture)}",
                ["Logging:LogLevel:Default"] = "Information",
                ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
                ["Logging:LogLevel:Microsoft.Extensions.Http"] = "Warning",
                ["Logging:LogLevel:System.Net.Http"] = "Warning",
                ["Logging:Console:FormatterName"] = "simple",
                ["Logging:Console:FormatterOptions:SingleLine"] = "true",
                ["Logging:Console:FormatterOptions:IncludeScopes"] = "true",
                ["Logging:Console:FormatterOptions:UseUtcTimestamp"] = "true",
                ["Logging:Console:FormatterOptions:TimestampFormat"] = "yyyy-MM-ddTHH:mm:ss.fffZ ",
            },
        });

        builder.Logging.ClearProviders();
        builder.Logging.AddConsole();

        builder.AddValidatedOptions<KafkaOptions>(KafkaOptions.SectionName);
        builder.AddValidatedOptions<InfluxOptions>(InfluxOptions.SectionName);
        builder.Services.AddInfluxClients();

        var instanceId = builder.Configuration["InstanceId"];
        builder.Services.AddSingleton(new ServiceIdentity(
            serviceName,
            string.IsNullOrWhiteSpace(instanceId) ? $"{serviceName}-{Environment.MachineName}-{Environment.ProcessId}" : instanceId));
        builder.Services.AddSingleton<IReadinessGate, ReadinessGate>();
        builder.AddValidatedOptions<HealthOptions>(HealthOptions.SectionName);
        builder.Services.AddSingleton(sp => new ProgressWatchdog(sp.GetRequiredService<IOptions<HealthOptions>>().Value.StallTimeout));
        builder.Services.AddSingleton<IMetricFactory>(Metrics.DefaultFactory);
        return builder;
    }
}
