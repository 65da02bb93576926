using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;
using Prometheus;
using StreamMonitor.Influx;
using StreamMonitor.Kafka;
using StreamMonitor.Stack;

namespace StreamMonitor.Hosting.Tests;

/// <summary>The shared service host on a real Kestrel bound to a free loopback port.</summary>
public sealed class StreamMonitorHostTests
{
    private static string[] Args(int port, params string[] extra) =>
        [$"--urls=http://127.0.0.1:{port}", "--Kafka:BootstrapServers=127.0.0.1:9", "--Influx:Url=http://127.0.0.1:9", .. extra];

    [Theory]
    [InlineData("--Kafka:BootstrapServers=", "Kafka:BootstrapServers is required")]
    [InlineData("--Influx:BatchSize=0", "Influx:BatchSize is invalid")]
    [InlineData("--Influx:Url=not a url", "Influx:Url must be an absolute http or https URL")]
    [InlineData("--Kafka:SessionTimeoutMs=abc", "Kafka:SessionTimeoutMs")]
    public async Task A_bad_configuration_value_fails_start_up_naming_the_key(string flag, string expected)
    {
        var builder = StreamMonitorHost.CreateBuilder("test", Args(LocalPorts.Free(), flag));
        await using var app = builder.Build();
        app.MapStreamMonitorEndpoints();
        var ex = await Assert.ThrowsAnyAsync<Exception>(() => app.StartAsync());
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Configuration_comes_from_environment_and_command_line_over_defaults()
    {
        Environment.SetEnvironmentVariable("Influx__Database", "from_env_" + nameof(Configuration_comes_from_environment_and_command_line_over_defaults));
        try
        {
            var builder = StreamMonitorHost.CreateBuilder("test", Args(LocalPorts.Free(), "--Influx:BatchSize=7"));
            await using var app = builder.Build();
            var influx = app.Services.GetRequiredService<IOptions<InfluxOptions>>().Value;
            var kafka = app.Services.GetRequiredService<IOptions<KafkaOptions>>().Value;
            Assert.Equal(("from_env_" + nameof(Configuration_comes_from_environment_and_command_line_over_defaults), 7, "127.0.0.1:9"), (influx.Database, influx.BatchSize, kafka.BootstrapServers));
            Assert.Equal("test", app.Services.GetRequiredService<ServiceIdentity>().Name);
        }
        finally
        {
            Environment.SetEnvironmentVariable("Influx__Database", null);
        }
    }

    [Fact]
    public async Task Console_logging_is_single_line_utc_by_default_and_json_on_request()
    {
        await using (var app = StreamMonitorHost.CreateBuilder("test", Args(LocalPorts.Free())).Build())
        {
            Assert.Equal(ConsoleFormatterNames.Simple, app.Services.GetRequiredService<IOptionsMonitor<ConsoleLoggerOptions>>().CurrentValue.FormatterName);
            var simple = app.Services.GetRequiredService<IOptionsMonitor<SimpleConsoleFormatterOptions>>().CurrentValue;
            Assert.True(simple.SingleLine && simple.UseUtcTimestamp);
        }

        await using (var app = StreamMonitorHost.CreateBuilder("test", Args(LocalPorts.Free(), "--Logging:Console:FormatterName=json")).Build())
        {
            Assert.Equal(ConsoleFormatterNames.Json, app.Services.GetRequiredService<IOptionsMonitor<ConsoleLoggerOptions>>().CurrentValue.FormatterName);
            Assert.True(app.Services.GetRequiredService<IOptionsMonitor<JsonConsoleFormatterOptions>>().CurrentValue.UseUtcTimestamp);
        }
    }

    [Fact]
    public void The_default_listen_url_is_the_service_port_unless_configured()
    {
        var builder = StreamMonitorHost.CreateBuilder("scorer", ["--Kafka:BootstrapServers=x:1"], defaultPort: 8081);
        Assert.Equal("http://0.0.0.0:8081", builder.Configuration["Urls"]);
        var overridden = StreamMonitorHost.CreateBuilder("scorer", ["--urls=http://127.0.0.1:5999"], defaultPort: 8081);
        Assert.Equal("http://127.0.0.1:5999", overridden.Configuration["Urls"]);
    }

    [Fact]
    public async Task Health_readiness_and_metrics_endpoints_serve_over_http()
    {
        var port = LocalPorts.Free();
        var builder = StreamMonitorHost.CreateBuilder("test", Args(port));
        await using var app = builder.Build();
        app.MapStreamMonitorEndpoints();
        var counter = app.Services.GetRequiredService<IMetricFactory>()
            .CreateCounter("streammon_hosting_test_events_total", "Events seen by the hosting test.");
        counter.Inc(3);
        Assert.Equal(0, app.Services.GetRequiredService<InfluxWriter>().Statistics.Pending);
        await app.StartAsync();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            using var health = await http.GetAsync(new Uri("/healthz", UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);

            using (var notReady = await http.GetAsync(new Uri("/readyz", UriKind.Relative)))
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady.StatusCode);
                Assert.Contains("starting", await notReady.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            }

            var gate = app.Services.GetRequiredService<IReadinessGate>();
            gate.MarkReady();
            using (var ready = await http.GetAsync(new Uri("/readyz", UriKind.Relative)))
            {
                Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
            }

            gate.MarkNotReady("lost partitions");
            using (var again = await http.GetAsync(new Uri("/readyz", UriKind.Relative)))
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, again.StatusCode);
                Assert.Contains("lost partitions", await again.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            }

            using var metrics = await http.GetAsync(new Uri("/metrics", UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
            Assert.StartsWith("text/plain", metrics.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
            var text = await metrics.Content.ReadAsStringAsync();
            Assert.Contains("# TYPE streammon_hosting_test_events_total counter", text, StringComparison.Ordinal);
            Assert.Contains("streammon_hosting_test_events_total 3", text, StringComparison.Ordinal);

            // System.Diagnostics.Metrics instruments (here the InfluxDB writer's) are exported too.
            Assert.Contains("streammon_influx_points_pending", text, StringComparison.Ordinal);
        }
        finally
        {
            await app.StopAsync();
        }
    }
}
