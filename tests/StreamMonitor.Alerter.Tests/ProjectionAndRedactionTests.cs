using System.Collections.Concurrent;
using System.ComponentModel.DataAnnotations;
using System.Net;
using Microsoft.Extensions.Logging;
using StreamMonitor.Alerter.Notifications;
using StreamMonitor.Contracts;
using StreamMonitor.Slo.Tests;
using StreamMonitor.Stack;

namespace StreamMonitor.Alerter.Tests;

/// <summary>The InfluxDB projection never throws on data; the webhook URL's secret never reaches a log line.</summary>
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
    public void A_point_line_protocol_cannot_carry_is_reported_once_per_output_and_the_other_points_are_kept()
    {
        var alert = new Alert { AlertId = "slo/a/page", Kind = AlertKind.SLO_BURN_RATE, State = AlertState.FIRING, Severity = "page", Name = "a", ModelName = "cancer", EventTimeMs = Generated.T0, Value = double.PositiveInfinity };
        var projected = InfluxProjection.Project([Status("global", model: null, 0.5), Status("broken", "cancer", double.NaN)], [alert]);

        // The SLO without a model has no model tag rather than an empty one (which line protocol cannot write).
        Assert.Contains(projected.Points, p => p.ToLineProtocol().StartsWith("slo_status,sli=availability,slo=global ", StringComparison.Ordinal));
        Assert.Equal(3, projected.Points.Count); // global: status + tier; broken: tier only
        Assert.Equal(["broken", "slo/a/page"], projected.Rejected.Select(r => r.Key));
        Assert.Contains("budget_remaining", projected.Rejected[0].Detail, StringComparison.Ordinal);
        Assert.Contains("value", projected.Rejected[1].Detail, StringComparison.Ordinal);
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
