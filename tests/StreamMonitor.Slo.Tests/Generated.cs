using StreamMonitor.Contracts;
using StreamMonitor.Slo;

namespace StreamMonitor.Slo.Tests;

/// <summary>Generated window results (the aggregator's shape) and a driver that feeds them to an evaluator.</summary>
internal static class Generated
{
    /// <summary>A Monday 00:00 UTC, hour- and day-aligned.</summary>
    public const long T0 = 1_763_942_400_000;

    public const long Minute = 60_000;
    public const long Hour = 3_600_000;
    public const long Day = 86_400_000;

    public static LatencyWindowResult Latency(long startMs, long sizeMs, long count, long errors, string model = "cancer", string version = "1", long p95Us = 20_000, long thresholdUs = 50_000, long? fastCount = null) => new()
    {
        ModelName = model,
        ModelVersion = version,
        WindowStartMs = startMs,
        WindowSizeMs = sizeMs,
        Count = count,
        ErrorCount = errors,
        ErrorRate = count == 0 ? 0 : (double)errors / count,
        ThroughputPerSecond = count * 1000.0 / sizeMs,
        Stages = count == 0 ? [] : [new StageLatency { Stage = "e2e", Count = count - errors, P95Us = p95Us, P50Us = p95Us / 2, MaxUs = p95Us * 2 }],
        LatencySlis = [new LatencySli { ThresholdUs = thresholdUs, Good = fastCount ?? (count - errors), Total = count }],
        RelativeError = 0.01,
    };

    /// <summary>Evaluator settings over one window size; <paramref name="lowTrafficConfidence"/> 0 turns the low-traffic guard off.</summary>
    public static EvaluatorOptions Options(TimeSpan window, double lowTrafficConfidence = 0.999, TimeSpan? hold = null) => new()
    {
        ResultWindow = window,
        QualityWindow = window,
        DriftWindow = window,
        LowTrafficConfidence = lowTrafficConfidence,
        ResolveHold = hold ?? TimeSpan.FromMinutes(1),
        MissingDataAfter = TimeSpan.FromMinutes(15),
    };

    public static SloDefinition Availability(double target = 0.999, TimeSpan? period = null, string name = "cancer-availability")
    {
        var p = period ?? TimeSpan.FromDays(30);
        return new SloDefinition
        {
            Name = name,
            Service = "scorer",
            Model = "cancer",
            Sli = SliKind.Availability,
            Target = target,
            Period = SloPeriod.RollingOf(p),
            Tiers = DefaultTiers.For(p),
        };
    }

    /// <summary>A quality SLO (90 % accuracy over 30 days) with one page tier: 6 h / 30 min windows, burn rate 6, 5 % of the budget.</summary>
    public static SloDefinition Accuracy(string name = "cancer-accuracy") => new()
    {
        Name = name,
        Service = "scorer",
        Model = "cancer",
        Sli = SliKind.Quality,
        Target = 0.9,
        Period = SloPeriod.RollingOf(TimeSpan.FromDays(30)),
        Tiers = [new BurnRateTierSpec("page-6h", Severities.Page, TimeSpan.FromHours(6), TimeSpan.FromMinutes(30), 6, 0.05)],
    };

    /// <summary>
    /// One in-order input as a single partition would deliver it: applies the result, then advances the evaluator to
    /// a watermark at its window end, so ticks up to end - AllowedLateness are evaluated.
    /// </summary>
    public static Observation Observe(this AlertEvaluator evaluator, LatencyWindowResult result) =>
        Advance(evaluator, evaluator.Apply(result), result.WindowEndMs());

    /// <inheritdoc cref="Observe(AlertEvaluator, LatencyWindowResult)"/>
    public static Observation Observe(this AlertEvaluator evaluator, QualityWindowResult result) =>
        Advance(evaluator, evaluator.Apply(result), result.WindowEndMs());

    /// <inheritdoc cref="Observe(AlertEvaluator, LatencyWindowResult)"/>
    public static Observation Observe(this AlertEvaluator evaluator, DriftWindowResult result) =>
        Advance(evaluator, evaluator.Apply(result), result.WindowEndMs());

    private static Observation Advance(AlertEvaluator evaluator, string outcome, long watermarkMs)
    {
        var output = evaluator.AdvanceTo(watermarkMs);
        return new Observation(outcome, output.Alerts, output.Statuses);
    }

    /// <summary>Feeds consecutive windows [from, to) of size <paramref name="sizeMs"/>; traffic(start) gives (count, errors).</summary>
    public static List<Alert> Feed(AlertEvaluator evaluator, long fromMs, long toMs, long sizeMs, Func<long, (long Count, long Errors)> traffic, List<SloStatus>? statuses = null)
    {
        var alerts = new List<Alert>();
        for (var start = fromMs; start < toMs; start += sizeMs)
        {
            var (count, errors) = traffic(start);
            var output = evaluator.Observe(Latency(start, sizeMs, count, errors));
            alerts.AddRange(output.Alerts);
            statuses?.AddRange(output.Statuses);
        }

        return alerts;
    }
}

/// <summary>What one observed input gave: its outcome and the outputs of the ticks it released.</summary>
internal sealed record Observation(string Outcome, List<Alert> Alerts, List<SloStatus> Statuses);
