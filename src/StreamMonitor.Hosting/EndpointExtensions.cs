using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Prometheus;
using StreamMonitor.Kafka;

namespace StreamMonitor.Hosting;

/// <summary>The operational endpoints of every service.</summary>
public static class EndpointExtensions
{
    /// <summary>
    /// Maps <c>/metrics</c> (Prometheus text format: the service's metrics, .NET and process metrics, and
    /// System.Diagnostics.Metrics instruments such as the InfluxDB writer's), <c>/healthz</c> (liveness: 503 naming the
    /// loop when a processing loop registered with the <see cref="ProgressWatchdog"/> has had input waiting and no
    /// progress for <see cref="HealthOptions.StallTimeout"/>, else 200) and <c>/readyz</c> (200 once
    /// <see cref="IReadinessGate"/> is ready, else 503 with the reason; then the gate's
    /// <see cref="IReadinessGate.Details"/> lines).
    /// </summary>
    public static IEndpointRouteBuilder MapStreamMonitorEndpoints(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapMetrics("/metrics");
        endpoints.MapGet("/healthz", (ProgressWatchdog watchdog) => watchdog.Stalled() is { Count: > 0 } stalled
            ? Results.Text(string.Concat(stalled.Select(s => string.Create(CultureInfo.InvariantCulture,
                $"stalled: {s.Name}: no progress for {s.WithoutProgress.TotalSeconds:F0} s with {s.Lag} records waiting\n"))), statusCode: StatusCodes.Status503ServiceUnavailable)
            : Results.Text("ok\n"));
        endpoints.MapGet("/readyz", (IReadinessGate gate) => gate.IsReady
            ? Results.Text("ready\n" + gate.Details)
            : Results.Text($"not ready: {gate.Reason}\n{gate.Details}", statusCode: StatusCodes.Status503ServiceUnavailable));
        return endpoints;
    }
}
