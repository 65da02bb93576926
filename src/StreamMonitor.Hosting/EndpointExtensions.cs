using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Prometheus;

namespace StreamMonitor.Hosting;

/// <summary>The operational endpoints of every service.</summary>
public static class EndpointExtensions
{
    /// <summary>
    /// Maps <c>/metrics</c> (Prometheus text format: the service's metrics, .NET and process metrics, and
    /// System.Diagnostics.Metrics instruments such as the InfluxDB writer's), <c>/healthz</c> (liveness: 200 while the
    /// process serves HTTP) and <c>/readyz</c> (200 once <see cref="IReadinessGate"/> is ready, else 503 with the reason; then the gate's
    /// <see cref="IReadinessGate.Details"/> lines).
    /// </summary>
    public static IEndpointRouteBuilder MapStreamMonitorEndpoints(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapMetrics("/metrics");
        endpoints.MapGet("/healthz", () => Results.Text("ok\n"));
        endpoints.MapGet("/readyz", (IReadinessGate gate) => gate.IsReady
            ? Results.Text("ready\n" + gate.Details)
            : Results.Text($"not ready: {gate.Reason}\n{gate.Details}", statusCode: StatusCodes.Status503ServiceUnavailable));
        return endpoints;
    }
}
