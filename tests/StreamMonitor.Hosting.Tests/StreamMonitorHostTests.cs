using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
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
    [InlineData("--Kafka:SessionTimeout=abc", "Kafka:SessionTimeout")]
    [InlineData("--Kafka:SessionTimeout=0s", "Kafka:SessionTimeout is invalid: SessionTimeout must be between 1s and 5m. (value: 0s)")]
    [InlineData("--Kafka:SessionTimeoutMs=6000", "Kafka:SessionTimeoutMs was renamed to Kafka:SessionTimeout, a duration such as 6s")]
    [InlineData("--Kafka:SessionTimeoutMs=soon", "Kafka:SessionTimeoutMs was renamed to Kafka:SessionTimeout, a duration such as 10s")]
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
    public void The_default_listen_url_is_the_service_port_on_loopback_unless_configured()
    {
        var builder = StreamMonitorHost.CreateBuilder("scorer", ["--Kafka:BootstrapServers=x:1"], defaultPort: 8081);
        Assert.Equal("http://127.0.0.1:8081", builder.Configuration["Urls"]);
        var overridden = StreamMonitorHost.CreateBuilder("scorer", ["--urls=http://+:5999"], defaultPort: 8081);
        Assert.Equal("http://+:5999", overridden.Configuration["Urls"]);
    }

    [Fact]
    public async Task By_default_a_service_listens_on_loopback_only()
    {
        var port = LocalPorts.Free();
        var builder = StreamMonitorHost.CreateBuilder("test", ["--Kafka:BootstrapServers=127.0.0.1:9", "--Influx:Url=http://127.0.0.1:9"], defaultPort: port);
        await using var app = builder.Build();
        app.MapStreamMonitorEndpoints();
        await app.StartAsync();
        try
        {
            Assert.Equal([$"http://127.0.0.1:{port}"], app.Urls);
            using var http = new HttpClient();
            using var local = await http.GetAsync(new Uri($"http://127.0.0.1:{port}/healthz"));
            Assert.Equal(HttpStatusCode.OK, local.StatusCode);

            // Any address of this host that is not loopback: nothing listens there.
            var external = NetworkInterface.GetAllNetworkInterfaces()
                .Where(n => n.OperationalStatus == OperationalStatus.Up)
                .SelectMany(n => n.GetIPProperties().UnicastAddresses)
                .Select(a => a.Address)
                .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));
            if (external is not null)
            {
                using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                var refused = await Assert.ThrowsAsync<SocketException>(async () => await socket.ConnectAsync(external, port));
                Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
            }
        }
        finally
        {
            await app.StopAsync();
        }
    }

    [Fact]
    public async Task Healthz_turns_red_naming_a_loop_that_stops_progressing_with_input_waiting_and_green_when_it_moves_again()
    {
        var port = LocalPorts.Free();
        await using var app = StreamMonitorHost.CreateBuilder("test", Args(port, "--Health:StallTimeout=00:00:00.500")).Build();
        app.MapStreamMonitorEndpoints();
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        async Task<(HttpStatusCode Status, string Body)> HealthAsync()
        {
            using var response = await http.GetAsync(new Uri("/healthz", UriKind.Relative));
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }

        // A consume loop over an in-memory queue; "stuck" makes it stop taking records as a hung handler would.
        var queue = new System.Collections.Concurrent.ConcurrentQueue<int>();
        var stuck = false;
        using var stop = new CancellationTokenSource();
        using var progress = app.Services.GetRequiredService<ProgressWatchdog>().Register("test-loop");
        var loop = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                if (!Volatile.Read(ref stuck) && queue.TryDequeue(out _))
                {
                    progress.Received();
                    progress.Progressed();
                }

                progress.ReportLag(queue.Count);
                await Task.Delay(20);
            }
        });
        try
        {
            // Idle with nothing waiting, far longer than the stall timeout: alive.
            await Task.Delay(800);
            Assert.Equal(HttpStatusCode.OK, (await HealthAsync()).Status);

            // Records flow: alive.
            for (var i = 0; i < 20; i++)
            {
                queue.Enqueue(i);
            }

            await Task.Delay(800);
            Assert.Equal(HttpStatusCode.OK, (await HealthAsync()).Status);

            // Input waits and the loop stops moving: red, with the loop's name, once the stall timeout has passed.
            Volatile.Write(ref stuck, true);
            queue.Enqueue(99);
            await Task.Delay(100);
            Assert.Equal(HttpStatusCode.OK, (await HealthAsync()).Status);
            await Task.Delay(800);
            var red = await HealthAsync();
            Assert.Equal(HttpStatusCode.ServiceUnavailable, red.Status);
            Assert.Contains("test-loop", red.Body, StringComparison.Ordinal);
            Assert.Contains("1 records waiting", red.Body, StringComparison.Ordinal);

            // It moves again: green.
            Volatile.Write(ref stuck, false);
            await Task.Delay(200);
            Assert.Equal(HttpStatusCode.OK, (await HealthAsync()).Status);
        }
        finally
        {
            await stop.CancelAsync();
            await loop;
            await app.StopAsync();
        }
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
