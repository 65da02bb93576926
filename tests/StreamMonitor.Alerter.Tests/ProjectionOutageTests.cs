using System.Globalization;
using StreamMonitor.Contracts;
using StreamMonitor.Influx;
using StreamMonitor.Influx.Local;
using StreamMonitor.Kafka;
using StreamMonitor.Slo.Tests;
using StreamMonitor.Stack;
using StreamMonitor.Testing;
using Xunit.Abstractions;

namespace StreamMonitor.Alerter.Tests;

/// <summary>
/// The alerter process with its projection on and InfluxDB down: the projector's writer (a buffer of 10 points) waits,
/// the decisions do not, and once influxd is back every alert, slo_status and slo_burn_rate point of the
/// alerts and slo-status topics arrives.
/// </summary>
[Collection(AlerterProcesses.Name)]
public sealed class ProjectionOutageTests(EmbeddedKafkaFixture kafka, ITestOutputHelper output) : IClassFixture<EmbeddedKafkaFixture>
{
    private const long Second = 1000;
    private const int BufferCapacity = 10;
    private const int BatchSize = 5;

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
    public async Task With_InfluxDB_down_alerts_are_still_published_at_once_and_every_point_arrives_once_it_is_back()
    {
        await using var influxd = await LocalInfluxd.StartAsync(new LocalInfluxdOptions { Database = "alerter_outage" });
        var influx = influxd.CreateOptions("alerter_outage");
        await influxd.StopAsync();
        var down = await DownServer.HoldAsync(influxd.Port);

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
            ["Alerter__WriteInflux"] = "true",
            ["Influx__Url"] = influx.Url,
            ["Influx__Database"] = influx.Database,
            ["Influx__BufferCapacity"] = BufferCapacity.ToString(CultureInfo.InvariantCulture),
            ["Influx__BatchSize"] = BatchSize.ToString(CultureInfo.InvariantCulture),
            ["Influx__FlushInterval"] = "00:00:00.050",
            ["Influx__RetryInitialDelay"] = "00:00:00.050",
            ["Influx__RetryMaxDelay"] = "00:00:00.500",
            ["Influx__RequestTimeout"] = "00:00:02",
        };

        // Two minutes of one-second windows, written before the alerter starts: 40 s clean, then every request fails (a
        // page from the 4th failing window on). Keyed by window, so spread over the result partitions. Written first
        // because the alerter applies a start-up backlog whole before it decides (a replay's determinism), whereas a
        // burst into partitions it has already read to their end is fetched partition by partition, and whichever comes
        // first may move the watermark past the others by more than the allowed lateness.
        using var producer = kafka.CreateProducer(options);
        var start = (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / Second * Second) - (150 * Second);
        var errorsFrom = start + (40 * Second);
        for (var windowStart = start; windowStart < start + (120 * Second); windowStart += Second)
        {
            var latency = Generated.Latency(windowStart, Second, 100, windowStart >= errorsFrom ? 100 : 0);
            producer.Produce(options.Topics.LatencyResults, EventMessages.Create(kafka.Codec, latency.Key.ToString(), latency));
        }

        producer.Flush(TimeSpan.FromSeconds(10));

        await using var alerter = ServiceProcess.Start(new ServiceProcessOptions(StreammonCli.ServiceDllPath("alerter", "StreamMonitor.Alerter"))
        {
            Environment = env,
            OnLine = TestOutput.Forward(output),
        });
        await alerter.WaitForHttpOkAsync(new Uri($"http://127.0.0.1:{port}/readyz"), TimeSpan.FromSeconds(60));
        var ready = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        // The page is decided and published while the projection cannot write a point.
        const string PageId = "slo/fast-availability/page";
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!alerter.Lines.Any(l => l.Contains(PageId + " FIRING", StringComparison.Ordinal)))
        {
            Assert.True(DateTime.UtcNow < deadline, "no page 30 s after the alerter was ready");
            await Task.Delay(100);
        }

        var alerts = await kafka.ConsumeAllAsync<Alert>(options.Topics.Alerts, TimeSpan.FromSeconds(30));
        var page = Assert.Single(alerts, a => a.Key == PageId && a.Value.State == AlertState.FIRING);
        Assert.Equal(errorsFrom + (4 * Second), page.Value.EventTimeMs);
        var publishedAfter = new DateTimeOffset(page.Timestamp, TimeSpan.Zero).ToUnixTimeMilliseconds() - ready;
        output.WriteLine($"page published {publishedAfter} ms after the alerter was ready, InfluxDB down");
        Assert.InRange(publishedAfter, -10 * Second, 10 * Second);

        var statuses = await kafka.ConsumeAllAsync<SloStatus>(options.Topics.SloStatus, TimeSpan.FromSeconds(30));
        Assert.True(statuses.Count > 3 * (BufferCapacity + BatchSize), $"only {statuses.Count} statuses: too few to fill the writer");

        // The projector (its own consumer group, joining in its own time) hands points to the writer, which holds at
        // most its buffer and one batch, and then waits (on a full buffer, or on a flush before a commit) rather than
        // dropping or committing past what InfluxDB has not taken.
        using var http = new HttpClient();
        deadline = DateTime.UtcNow.AddSeconds(30);
        while (await QueuedAsync(http, port) == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the projector never started");
            await Task.Delay(100);
        }

        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.InRange(await QueuedAsync(http, port), 1, BufferCapacity + BatchSize + 2);

        // InfluxDB back: every output's points arrive (identity = measurement + tags + time).
        await down.DisposeAsync();
        await influxd.StartAgainAsync();
        alerts = await kafka.ConsumeAllAsync<Alert>(options.Topics.Alerts, TimeSpan.FromSeconds(30));
        statuses = await kafka.ConsumeAllAsync<SloStatus>(options.Topics.SloStatus, TimeSpan.FromSeconds(30));
        var expected = (
            Alerts: alerts.Select(a => (a.Value.AlertId, a.Value.EventTimeMs)).Distinct().Count(),
            Statuses: statuses.Select(s => (s.Value.Slo, s.Value.EvaluatedAtMs)).Distinct().Count(),
            BurnRates: statuses.SelectMany(s => s.Value.Tiers.Select(t => (s.Value.Slo, t.Name, s.Value.EvaluatedAtMs))).Distinct().Count());
        using var query = new InfluxQueryClient(influx);
        var actual = (Alerts: 0L, Statuses: 0L, BurnRates: 0L);
        deadline = DateTime.UtcNow.AddSeconds(60);
        while (actual != expected)
        {
            Assert.True(DateTime.UtcNow < deadline, $"InfluxDB holds {actual}, the topics {expected}");
            await Task.Delay(250);
            actual = (await CountAsync(query, "SELECT count(firing) FROM alert"), await CountAsync(query, "SELECT count(target) FROM slo_status"), await CountAsync(query, "SELECT count(condition_met) FROM slo_burn_rate"));
        }

        await alerter.StopAsync(TimeSpan.FromSeconds(20));
        File.Delete(sloFile);
    }

    /// <summary>Points the projector has handed to its writer (0 before the first).</summary>
    private static async Task<double> QueuedAsync(HttpClient http, int port)
    {
        const string Queued = "streammon_alerter_projection_points_total{outcome=\"queued\"} ";
        var metrics = await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics"));
        var line = metrics.Split('\n').SingleOrDefault(l => l.StartsWith(Queued, StringComparison.Ordinal));
        return line is null ? 0 : double.Parse(line[Queued.Length..], CultureInfo.InvariantCulture);
    }

    private static async Task<long> CountAsync(InfluxQueryClient query, string influxQl)
    {
        var series = await query.QueryAsync(influxQl);
        return series.Count == 0 ? 0 : series[0].GetInt64(0, "count") ?? 0;
    }
}
