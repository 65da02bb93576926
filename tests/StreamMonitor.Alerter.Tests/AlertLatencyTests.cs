using System.Globalization;
using Confluent.Kafka;
using StreamMonitor.Contracts;
using StreamMonitor.Slo.Tests;
using StreamMonitor.Kafka;
using StreamMonitor.Stack;
using StreamMonitor.Testing;
using Xunit.Abstractions;

namespace StreamMonitor.Alerter.Tests;

/// <summary>
/// The alerter process against the embedded Kafka cluster, fed with result records in real time (event time = wall
/// time), as the aggregator writes them: one latency result per window keyed by window, so spread over the result
/// partitions (each partition sparse), and quality results that trail by minutes (labels arrive late). InfluxDB is
/// unreachable all along, with the projection on.
/// </summary>
[Collection(AlerterProcesses.Name)]
public sealed class AlertLatencyTests(EmbeddedKafkaFixture kafka, ITestOutputHelper output) : IClassFixture<EmbeddedKafkaFixture>
{
    private const long Second = 1000;
    private const long Window = Second;
    private const long Lateness = 3 * Second;

    /// <summary>Slack the issue allows on top of the short window's granularity and the allowed lateness.</summary>
    private const long Slack = 10 * Second;

    private const string SloYaml = """
        slos:
          - name: fast-availability
            model: cancer
            indicator: { kind: availability }
            objectives: { target: 0.99 }
            timeWindow: { duration: 1h, isRolling: true }
            alertPolicy:
              tiers:
                - { name: page-30s, severity: page, longWindow: 30s, shortWindow: 5s, burnRate: 10 }
        """;

    [Fact]
    public async Task A_page_is_published_within_the_short_window_granularity_plus_the_allowed_lateness_plus_10_s_of_its_event_time()
    {
        var options = kafka.CreateOptions();
        var sloFile = Path.Combine(Path.GetTempPath(), $"slos-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(sloFile, SloYaml);
        var port = LocalPorts.Free();
        var env = new Dictionary<string, string?>(EmbeddedKafkaFixture.EnvironmentFor(options))
        {
            ["Urls"] = $"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}",
            ["Alerter__SloFile"] = sloFile,
            ["Alerter__ResultWindow"] = "1s",
            ["Alerter__AllowedLateness"] = "3s",
            ["Alerter__GroupWait"] = "0s",

            // Nothing listens there: the projection must not hold a decision up.
            ["Alerter__WriteInflux"] = "true",
            ["Influx__Url"] = $"http://127.0.0.1:{LocalPorts.Free().ToString(CultureInfo.InvariantCulture)}",
        };
        await using var alerter = ServiceProcess.Start(new ServiceProcessOptions(StreammonCli.ServiceDllPath("alerter", "StreamMonitor.Alerter"))
        {
            Environment = env,
            OnLine = TestOutput.Forward(output),
        });
        await alerter.WaitForHttpOkAsync(new Uri($"http://127.0.0.1:{port}/readyz"), TimeSpan.FromSeconds(60));

        // 35 s of clean traffic fill the 30 s long window; then every request fails. The page holds at the 4th failing
        // window: 400 bad of 3000 in 30 s is 13.3% > 10 x 1%, and 80% over 5 s.
        using var producer = kafka.CreateProducer(options);
        var start = (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / Window * Window) + Window;
        var errorsFrom = start + (35 * Second);
        var expectedEventTime = errorsFrom + (4 * Window);
        const string PageId = "slo/fast-availability/page";
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(75));
        var revision = 0L;
        for (var windowStart = start; !alerter.Lines.Any(l => l.Contains(PageId + " FIRING", StringComparison.Ordinal)); windowStart += Window)
        {
            Assert.True(windowStart < expectedEventTime + (30 * Second), "no page 30 s after it was due");

            // Written once the window has ended, as the aggregator does (it waits for its own grace; here 100 ms).
            var delay = windowStart + Window + 100 - DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            if (delay > 0)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(delay), timeout.Token);
            }

            var latency = Generated.Latency(windowStart, Window, 100, windowStart >= errorsFrom ? 100 : 0);
            producer.Produce(options.Topics.LatencyResults, EventMessages.Create(kafka.Codec, latency.Key.ToString(), latency));
            if (windowStart % (5 * Second) == 0)
            {
                // Quality of a minute three minutes back, revised as labels trickle in: it must not hold latency ticks.
                var quality = new QualityWindowResult
                {
                    ModelName = "cancer", ModelVersion = "1", WindowStartMs = (windowStart / Generated.Minute * Generated.Minute) - (3 * Generated.Minute),
                    WindowSizeMs = Generated.Minute, Revision = ++revision, Predictions = 6000, Labeled = revision, Correct = revision,
                };
                producer.Produce(options.Topics.QualityResults, EventMessages.Create(kafka.Codec, quality.Key.ToString(), quality));
            }

            producer.Flush(timeout.Token);
        }

        var alerts = await kafka.ConsumeAllAsync<Alert>(options.Topics.Alerts, TimeSpan.FromSeconds(30));
        var page = Assert.Single(alerts, a => a.Key == PageId && a.Value.State == AlertState.FIRING);
        var published = new DateTimeOffset(page.Timestamp, TimeSpan.Zero).ToUnixTimeMilliseconds();
        var measured = published - page.Value.EventTimeMs;
        const long Bound = Window + Lateness + Slack;
        output.WriteLine($"page at event time {DateTimeOffset.FromUnixTimeMilliseconds(page.Value.EventTimeMs):O}, published {measured} ms later (bound {Bound} ms: short window granularity {Window} + allowed lateness {Lateness} + {Slack})");
        Assert.Equal(expectedEventTime, page.Value.EventTimeMs);
        Assert.InRange(measured, Lateness, Bound);

        // The projection did run, against an InfluxDB that is not there.
        using var http = new HttpClient();
        var metrics = await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics"));
        Assert.Contains("streammon_alerter_projection_points_total{outcome=\"queued\"}", metrics, StringComparison.Ordinal);
        await alerter.StopAsync(TimeSpan.FromSeconds(20));
        File.Delete(sloFile);
    }
}

/// <summary>Alerter process tests run one at a time: the latency one measures wall time.</summary>
[CollectionDefinition(Name)]
public sealed class AlerterProcesses
{
    /// <summary>Collection name.</summary>
    public const string Name = "alerter processes";
}
