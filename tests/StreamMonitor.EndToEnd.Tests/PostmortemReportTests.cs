using StreamMonitor.Contracts;
using StreamMonitor.Reports;

namespace StreamMonitor.EndToEnd.Tests;

public sealed class PostmortemReportTests
{
    private const long Minute = 60_000;
    private static readonly long Start = new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();

    [Fact]
    public void Report_has_four_charts_alert_timeline_and_phase_tables()
    {
        var log = new ResultLog();
        for (var i = 0; i < 60; i++)
        {
            var t = Start + (i * Minute);
            var slow = i is >= 20 and < 40;
            var latency = new LatencyWindowResult
            {
                ModelName = "bc", ModelVersion = slow ? "2" : "1", WindowStartMs = t, WindowSizeMs = Minute, Count = 50,
                Stages = [new StageLatency { Stage = "e2e", Count = 50, P50Us = slow ? 9000 : 2000, P95Us = slow ? 15000 : 3000, P99Us = slow ? 20000 : 4000, P999Us = slow ? 25000 : 5000, MaxUs = slow ? 30000 : 6000 }],
            };
            log.Latency[latency.Key] = latency;
            var drift = new DriftWindowResult
            {
                ModelName = "bc", ModelVersion = "1", WindowStartMs = t, WindowSizeMs = Minute, Count = 50,
                Features = [new FeatureDrift { Feature = "mean_area", DriftMethod = "wasserstein", DriftScore = i >= 40 ? 0.4 : 0.03, Threshold = 0.1, Drifted = i >= 40 }],
            };
            log.Drift[drift.Key] = drift;
            var quality = new QualityWindowResult
            {
                ModelName = "bc", ModelVersion = "1", WindowStartMs = t, WindowSizeMs = Minute, Predictions = 50, Labeled = 40, Correct = i >= 40 ? 30 : 38, LabelCoverage = 0.8, Accuracy = i >= 40 ? 0.75 : 0.95,
            };
            log.Quality[quality.Key] = quality;
            log.SloHistory.Add(new SloStatus
            {
                Slo = "latency", EvaluatedAtMs = t + Minute, BudgetRemaining = 1 - (i / 100.0),
                Tiers = [new BurnRateTier { Name = "page-1h", BurnRateThreshold = 14.4, LongBurnRate = slow ? 20 : 0.5, ShortBurnRate = slow ? 25 : 0.4 }],
            });
        }

        log.AlertHistory.Add(new Alert { AlertId = "a1", Name = "latency-page", Kind = AlertKind.SLO_BURN_RATE, State = AlertState.FIRING, Severity = "page", EventTimeMs = Start + (22 * Minute), Value = 20, Threshold = 14.4 });
        log.AlertHistory.Add(new Alert { AlertId = "a1", Name = "latency-page", Kind = AlertKind.SLO_BURN_RATE, State = AlertState.RESOLVED, Severity = "page", EventTimeMs = Start + (42 * Minute) });
        log.AlertHistory.Add(new Alert { AlertId = "a2", Name = "drift mean_area", Kind = AlertKind.FEATURE_DRIFT, State = AlertState.FIRING, Severity = "ticket", EventTimeMs = Start + (45 * Minute) });

        var dir = Path.Combine(Path.GetTempPath(), "streammon-report-" + Guid.NewGuid().ToString("N"));
        var phases = new[]
        {
            new EventTimeRange("normal", Start, Start + (20 * Minute)),
            new EventTimeRange("latency-regression", Start + (20 * Minute), Start + (40 * Minute)),
            new EventTimeRange("feature-drift", Start + (40 * Minute), Start + (60 * Minute)),
        };
        var md = PostmortemReport.Write(log, new EventTimeRange("incident", Start, Start + (60 * Minute)), phases, "Postmortem", dir);
        var text = File.ReadAllText(md);

        foreach (var png in new[] { "latency.png", "burn-rates.png", "drift.png", "quality.png" })
        {
            var bytes = File.ReadAllBytes(Path.Combine(dir, png));
            Assert.True(bytes.Length > 5000, png + " is too small to hold a chart");
            Assert.Equal(0x89, bytes[0]);
            Assert.Contains($"({png})", text, StringComparison.Ordinal);
        }

        Assert.Contains("| latency-page | SLO_BURN_RATE | page | 2026-11-01 00:22:00Z | 2026-11-01 00:42:00Z |", text, StringComparison.Ordinal);
        Assert.Contains("| drift mean_area | FEATURE_DRIFT | ticket | 2026-11-01 00:45:00Z | still firing |", text, StringComparison.Ordinal);
        Assert.Contains("| bc | mean_area | wasserstein | 0.400 | 0.100 | 20/20 |", text, StringComparison.Ordinal);

        // Worst-window latency of the slow phase (no histograms here), and accuracy 30/40 in the drift phase.
        Assert.Contains("| bc | 2 | 1000 | 0 | 9.00 | 15.00 | 20.00 | 25.00 | 30.00 | worst window |", text, StringComparison.Ordinal);
        Assert.Contains("| bc | 1 | 1000 | 800 | 80.0% | 75.0% | 0 |", text, StringComparison.Ordinal);
    }
}
