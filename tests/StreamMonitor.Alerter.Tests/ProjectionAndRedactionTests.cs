using System.Collections.Concurrent;
using System.ComponentModel.DataAnnotations;
using System.Net;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using StreamMonitor.Alerter.Notifications;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.Validation;
using StreamMonitor.Hosting.Projection;
using StreamMonitor.Kafka;
using StreamMonitor.Slo.Tests;
using StreamMonitor.Stack;

namespace StreamMonitor.Alerter.Tests;

/// <summary>The InfluxDB projection never throws on data (it dead-letters what it cannot carry); the webhook URL's secret never reaches a log line.</summary>
public sealed class ProjectionAndRedactionTests
{
    private const string WebhookSecret = "T0123/B0456/sEcReTsEcReT";

    private static SloStatus Status(string slo, string? model, double budget) => new()
    {
        Slo = slo,
        Sli = "availability",
        ModelName = model,
        Target = 0.999,
        BudgetRemaining = budget,
        PeriodTotal = 1000,
        PeriodBad = 1,
        EvaluatedAtMs = Generated.T0,
        Tiers = [new BurnRateTier { Name = "page-1h", Severity = "page", BurnRateThreshold = 14.4, LongBurnRate = 1, ShortBurnRate = 2, ConditionMet = false }],
    };

    [Fact]
    public void A_point_line_protocol_cannot_carry_is_dead_lettered_from_its_record_and_the_other_points_are_kept()
    {
        var topics = new TopicCatalog();
        var codec = new EventCodec();
        var registry = Prometheus.Metrics.NewCustomRegistry();
        var projection = new OutputProjection(topics, codec, new ProjectionMetrics(Prometheus.Metrics.WithCustomRegistry(registry), "alerter"));

        // The SLO without a model has no model tag rather than an empty one (which line protocol cannot write).
        var points = projection.Points(Record(topics.SloStatus, 3, "global", codec.Serialize(Status("global", model: null, 0.5))), out var letter);
        Assert.Null(letter);
        Assert.Equal(["slo_status", "slo_burn_rate"], points.Select(p => p.MeasurementName));
        Assert.StartsWith("slo_status,sli=availability,slo=global ", points[0].ToLineProtocol(), StringComparison.Ordinal);

        // broken: its burn-rate tier is kept, its status point (NaN budget) is dead-lettered from its own record.
        points = projection.Points(Record(topics.SloStatus, 4, "broken", codec.Serialize(Status("broken", "cancer", double.NaN))), out letter);
        Assert.Equal(["slo_burn_rate"], points.Select(p => p.MeasurementName));
        var deadLetter = codec.Deserialize<DeadLetter>(letter!.Value.Value);
        Assert.Equal((ReasonCodes.ProjectionRejected, topics.SloStatus, 4L, Generated.T0, "alerter"), (deadLetter.ReasonCode, deadLetter.SourceTopic, deadLetter.SourceOffset, deadLetter.EventTimeMs, deadLetter.Service));
        Assert.Contains("budget_remaining", deadLetter.Reason, StringComparison.Ordinal);

        var alert = new Alert { AlertId = "slo/a/page", Kind = AlertKind.SLO_BURN_RATE, State = AlertState.FIRING, Severity = "page", Name = "a", ModelName = "cancer", EventTimeMs = Generated.T0, Value = double.PositiveInfinity };
        Assert.Empty(projection.Points(Record(topics.Alerts, 5, alert.AlertId, codec.Serialize(alert)), out letter));
        Assert.Contains("value", letter!.Value.Detail, StringComparison.Ordinal);

        // Bytes that are no output are dead-lettered with their decoding reason, never thrown.
        Assert.Empty(projection.Points(Record(topics.Alerts, 6, "x", [0xde, 0xad]), out letter));
        Assert.StartsWith("DECODE_", letter!.Value.Code, StringComparison.Ordinal);
        var metrics = MetricsText(registry);
        Assert.Contains("streammon_alerter_projection_rejected_total{reason_code=\"PROJECTION_REJECTED\"} 2", metrics, StringComparison.Ordinal);
        Assert.Contains("streammon_alerter_projection_points_total{outcome=\"rejected\"} 2", metrics, StringComparison.Ordinal);
    }

    private static ConsumeResult<byte[], byte[]> Record(string topic, long offset, string key, byte[] value) => new()
    {
        Topic = topic,
        Partition = 0,
        Offset = offset,
        Message = new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes(key), Value = value, Timestamp = new Timestamp(Generated.T0, TimestampType.CreateTime) },
    };

    private static string MetricsText(Prometheus.CollectorRegistry registry)
    {
        using var stream = new MemoryStream();
        registry.CollectAndExportAsTextAsync(stream).GetAwaiter().GetResult();
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    [Fact]
    public void A_bad_webhook_url_is_reported_redacted()
    {
        var options = new AlerterOptions { WebhookUrl = $"ftp://hooks.example.com/services/{WebhookSecret}" };
        var errors = options.Validate(new ValidationContext(options)).Select(e => e.ErrorMessage!).ToList();
        Assert.Contains(errors, e => e.Contains("ftp://hooks.example.com/<redacted:", StringComparison.Ordinal));
        Assert.DoesNotContain(errors, e => e.Contains("sEcReT", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Webhook_failures_log_the_url_redacted()
    {
        // First a receiver that answers 500 to everything, then none at all (connection refused).
        var port = LocalPorts.Free();
        var url = new Uri($"http://hook-user:hook-pass@127.0.0.1:{port}/services/{WebhookSecret}?token=qUeRyToKeN");
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        var serving = Task.Run(async () =>
        {
            while (listener.IsListening)
            {
                try
                {
                    var context = await listener.GetContextAsync();
                    context.Response.StatusCode = 500;
                    context.Response.Close();
                }
                catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException)
                {
                    return;
                }
            }
        });

        var logger = new CapturingLogger();
        using var http = new HttpClient();
        var sender = new WebhookSender(http, url, attempts: 2, backoff: TimeSpan.FromMilliseconds(10), timeout: TimeSpan.FromSeconds(2), logger);
        var notification = new WebhookNotification { Status = "firing", GroupKey = "g", IdempotencyKey = "k" };
        Assert.False(await sender.SendAsync(notification, CancellationToken.None));
        listener.Stop();
        await serving;
        Assert.False(await sender.SendAsync(notification, CancellationToken.None));

        Assert.Contains(logger.Lines, l => l.Contains("answered 500", StringComparison.Ordinal));
        Assert.Contains(logger.Lines, l => l.Contains("unreachable", StringComparison.Ordinal));
        Assert.All(logger.Lines, l => Assert.Contains($"http://127.0.0.1:{port}/<redacted:", l, StringComparison.Ordinal));
        foreach (var secret in new[] { "sEcReT", "qUeRyToKeN", "hook-pass", "/services/" })
        {
            Assert.DoesNotContain(logger.Lines, l => l.Contains(secret, StringComparison.Ordinal));
        }
    }

    /// <summary>Every log entry as text: the formatted message, each structured value and the exception.</summary>
    private sealed class CapturingLogger : ILogger
    {
        private readonly ConcurrentQueue<string> _lines = new();

        public IReadOnlyCollection<string> Lines => _lines;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var values = state is IEnumerable<KeyValuePair<string, object?>> pairs ? string.Join(" ", pairs.Select(p => $"{p.Key}={p.Value}")) : "";
            _lines.Enqueue($"{logLevel}: {formatter(state, exception)} [{values}] {exception}");
        }
    }
}
