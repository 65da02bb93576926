using System.Text.Json;
using StreamMonitor.Contracts;
using StreamMonitor.Slo;
using static StreamMonitor.Slo.Tests.Generated;

namespace StreamMonitor.Slo.Tests;

public sealed class EvaluatorRulesTests
{
    private static DriftWindowResult Drift(long start, bool drifted, string feature = "mean_radius") => new()
    {
        ModelName = "cancer",
        ModelVersion = "1",
        WindowStartMs = start,
        WindowSizeMs = Minute,
        Count = 100,
        ReferenceId = "ref",
        Features = [new FeatureDrift { Feature = feature, Kind = FeatureKind.NUMERIC, Count = 100, DriftMethod = "psi", DriftScore = drifted ? 0.3 : 0.02, Threshold = 0.1, Drifted = drifted }],
    };

    [Fact]
    public void Drift_fires_at_k_of_the_last_n_windows_and_resolves_below_k()
    {
        var evaluator = new AlertEvaluator([], Options(TimeSpan.FromMinutes(1)) with { DriftK = 3, DriftN = 5 });
        bool[] pattern = [true, false, true, false, false, true, true, false, false, false, false];
        var alerts = new List<(int Index, Alert Alert)>();
        for (var i = 0; i < pattern.Length; i++)
        {
            alerts.AddRange(evaluator.Observe(Drift(T0 + (i * Minute), pattern[i])).Alerts.Select(a => (i, a)));
        }

        // Windows 0..5 hold drifted at 0, 2, 5: three of the last five only at window 6's tick (2, 5, 6), at its end
        // T0 + 7 min; it is evaluated once the watermark passes it by the allowed lateness (1 min): when window 7 arrives.
        Assert.Equal(2, alerts.Count);
        Assert.Equal((7, AlertState.FIRING), (alerts[0].Index, alerts[0].Alert.State));
        Assert.Equal(T0 + (7 * Minute), alerts[0].Alert.EventTimeMs);
        Assert.Equal("drift/cancer/mean_radius", alerts[0].Alert.AlertId);
        Assert.Equal(AlertKind.FEATURE_DRIFT, alerts[0].Alert.Kind);
        Assert.Equal(0.3, alerts[0].Alert.Value);

        // Window 7: last five are 3..7 = (f, f, t, t, f) -> 2 < 3: resolved at its end, released by window 8.
        Assert.Equal((8, AlertState.RESOLVED), (alerts[1].Index, alerts[1].Alert.State));
        Assert.Equal(T0 + (8 * Minute), alerts[1].Alert.EventTimeMs);
    }

    [Fact]
    public void Transient_drift_below_k_never_fires()
    {
        var evaluator = new AlertEvaluator([], Options(TimeSpan.FromMinutes(1)) with { DriftK = 3, DriftN = 5 });
        var alerts = Enumerable.Range(0, 50).SelectMany(i => evaluator.Observe(Drift(T0 + (i * Minute), i % 3 == 0)).Alerts).ToList();
        Assert.Empty(alerts);
    }

    private static List<Alert> FeedP95(AlertEvaluator evaluator, long from, long to, Func<long, long> p95)
    {
        var alerts = new List<Alert>();
        for (var s = from; s < to; s += Minute)
        {
            alerts.AddRange(evaluator.Observe(Latency(s, Minute, 1000, 0, p95Us: p95(s))).Alerts);
        }

        return alerts;
    }

    [Fact]
    public void Latency_regression_fires_only_when_sustained_for_the_configured_period()
    {
        var options = Options(TimeSpan.FromMinutes(1)) with { LatencyRegressionSustain = TimeSpan.FromHours(1), LatencyBaselineSpan = TimeSpan.FromHours(24) };
        var evaluator = new AlertEvaluator([], options);
        var t = T0 + (6 * Hour);
        Assert.Empty(FeedP95(evaluator, T0, t, _ => 20_000));

        // A transient 50-minute regression of 50% never fires; +15% (under the 20% share) never fires.
        Assert.Empty(FeedP95(evaluator, t, t + (50 * Minute), _ => 30_000));
        Assert.Empty(FeedP95(evaluator, t + (50 * Minute), t + (2 * Hour), _ => 20_000));
        Assert.Empty(FeedP95(evaluator, t + (2 * Hour), t + (5 * Hour), _ => 23_000));

        // Sustained +50%: fires once the regressed windows cover one hour (judged when the next window arrives).
        var r = t + (5 * Hour);
        var alerts = FeedP95(evaluator, r, r + (2 * Hour), _ => 30_000);
        var firing = Assert.Single(alerts);
        Assert.Equal(AlertKind.LATENCY_REGRESSION, firing.Kind);
        Assert.Equal(r + Hour, firing.EventTimeMs);
        Assert.Equal(r, firing.StartedAtMs);
        Assert.Equal(30_000, firing.Value);
        Assert.Equal(20_000 * 1.2, firing.Threshold!.Value, 9);

        var resolved = Assert.Single(FeedP95(evaluator, r + (2 * Hour), r + (2 * Hour) + (3 * Minute), _ => 20_000));
        Assert.Equal(AlertState.RESOLVED, resolved.State);
        Assert.Equal(r + (2 * Hour) + Minute, resolved.EventTimeMs);
    }

    [Fact]
    public void Latency_regression_against_a_configured_baseline()
    {
        var evaluator = new AlertEvaluator([], Options(TimeSpan.FromMinutes(1)) with { LatencyBaselineP95Us = 10_000, LatencyRegressionSustain = TimeSpan.FromMinutes(10) });
        var alerts = FeedP95(evaluator, T0, T0 + (30 * Minute), _ => 12_500);
        Assert.Equal(T0 + (10 * Minute), Assert.Single(alerts).EventTimeMs);
    }

    [Fact]
    public void Missing_data_is_a_separate_alert_and_zero_traffic_is_not_missing()
    {
        var evaluator = new AlertEvaluator([Availability()], Options(TimeSpan.FromMinutes(1)));
        var statuses = new List<SloStatus>();

        // Zero traffic: results keep arriving with count 0. Burn rates are null (not NaN), nothing fires.
        var zero = Feed(evaluator, T0, T0 + (2 * Hour), Minute, _ => (0, 0), statuses);
        Assert.Empty(zero);
        Assert.All(statuses[^1].Tiers, t => Assert.Null(t.LongBurnRate));
        Assert.Equal(1, statuses[^1].BudgetRemaining);

        // Missing: results for another model advance the stream clock while "cancer" is silent.
        var alerts = new List<Alert>();
        for (var s = T0 + (2 * Hour); s < T0 + (3 * Hour); s += Minute)
        {
            alerts.AddRange(evaluator.Observe(Latency(s, Minute, 100, 0, model: "other")).Alerts);
        }

        var missing = Assert.Single(alerts);
        Assert.Equal(AlertKind.DATA_MISSING, missing.Kind);
        Assert.Equal("data-missing/cancer-availability", missing.AlertId);
        Assert.Equal(T0 + (2 * Hour) + (16 * Minute), missing.EventTimeMs); // first clock more than 15 min past the last data

        Assert.Equal(AlertState.FIRING, missing.State);
        evaluator.Apply(Latency(T0 + (3 * Hour), Minute, 100, 0));
        var back = evaluator.AdvanceTo(T0 + (3 * Hour) + Minute + Minute).Alerts;
        var resolved = Assert.Single(back);
        Assert.Equal(AlertState.RESOLVED, resolved.State);
        Assert.Equal(missing.AlertId, resolved.AlertId);
        Assert.Equal(T0 + (3 * Hour) + Minute, resolved.EventTimeMs); // the tick of the window that brought data again
    }

    [Fact]
    public void Quality_revisions_replace_earlier_counts_exactly()
    {
        var slo = Accuracy(name: "acc");
        var evaluator = new AlertEvaluator([slo], Options(TimeSpan.FromMinutes(1), lowTrafficConfidence: 0));
        QualityWindowResult Q(long start, long revision, long labeled, long correct) => new()
        {
            ModelName = "cancer", ModelVersion = "1", WindowStartMs = start, WindowSizeMs = Minute, Revision = revision, Labeled = labeled, Correct = correct, Predictions = 100,
        };

        // Quality ticks wait QualityAllowedLateness (1 h) for labels: every revision applied before then counts,
        // a stale revision (lower than the stored one) changes nothing, in whatever order they arrive.
        Assert.Equal(InputOutcome.Applied, evaluator.Apply(Q(T0, 1, 10, 9)));
        evaluator.Apply(Q(T0 + Minute, 1, 10, 10));
        evaluator.Apply(Q(T0, 2, 50, 40));
        evaluator.Apply(Q(T0, 1, 10, 9));
        Assert.Empty(evaluator.AdvanceTo(T0 + Minute + (59 * Minute)).Statuses);
        var statuses = evaluator.AdvanceTo(T0 + (2 * Minute) + Hour).Statuses;
        Assert.Equal([T0 + Minute, T0 + (2 * Minute)], statuses.Select(s => s.EvaluatedAtMs));
        Assert.Equal(50, statuses[0].PeriodTotal);
        Assert.Equal(60, statuses[1].PeriodTotal); // 50 (revision 2 replaces 10) + 10
        Assert.Equal(10, statuses[1].PeriodBad);

        // A revision after its tick is late: counted from the next tick on, never at the tick already evaluated.
        Assert.Equal(InputOutcome.Late, evaluator.Apply(Q(T0, 3, 60, 50)));
        Assert.Equal(60, evaluator.Slos[0].LastStatus!.PeriodTotal);
        evaluator.Apply(Q(T0 + (2 * Minute), 1, 0, 0));
        Assert.Equal(70, evaluator.AdvanceTo(T0 + (3 * Minute) + Hour).Statuses.Single().PeriodTotal);
    }

    [Fact]
    public void Versions_are_summed_and_other_window_sizes_are_ignored()
    {
        var evaluator = new AlertEvaluator([Availability()], Options(TimeSpan.FromMinutes(1), lowTrafficConfidence: 0));
        evaluator.Apply(Latency(T0, Minute, 100, 10, version: "1"));
        evaluator.Apply(Latency(T0, Minute, 50, 5, version: "2"));

        // Re-emitting version 1's window (compacted-topic upsert) replaces it rather than adding.
        evaluator.Apply(Latency(T0, Minute, 100, 0, version: "1"));
        Assert.Equal(InputOutcome.OtherWindowSize, evaluator.Apply(Latency(T0, 10_000, 1000, 1000)));

        // A hopping 1m window (advance 10 s) overlaps the tumbling ones: ignored too.
        Assert.Equal(InputOutcome.OtherWindowSize, evaluator.Apply(Latency(T0 + 10_000, Minute, 1000, 1000)));
        var status = evaluator.AdvanceTo(T0 + Minute + Minute).Statuses.Single();
        Assert.Equal(150, status.PeriodTotal);
        Assert.Equal(5, status.PeriodBad);
    }

    [Fact]
    public void A_result_whose_window_end_lies_beyond_the_end_of_time_moves_no_clock_back()
    {
        var evaluator = new AlertEvaluator([Availability()], Options(TimeSpan.FromMinutes(1), lowTrafficConfidence: 0));
        evaluator.Apply(Latency(T0, Minute, 100, 10));
        var before = JsonSerializer.Serialize(evaluator.Capture());

        // start + size is beyond long.MaxValue: a wrapped sum would be an end in the far past, restarting the clocks there.
        Assert.Equal(long.MaxValue, Latency(long.MaxValue - Minute, long.MaxValue, 1, 1).WindowEndMs());
        Assert.Equal(InputOutcome.OtherWindowSize, evaluator.Apply(Latency(long.MaxValue - Minute, long.MaxValue, 1, 1)));
        Assert.Equal(before, JsonSerializer.Serialize(evaluator.Capture()));
        Assert.Equal(100, evaluator.AdvanceTo(T0 + Minute + Minute).Statuses.Single().PeriodTotal);
    }

    [Fact]
    public void Checkpoint_restore_mid_incident_gives_no_second_page_and_still_resolves()
    {
        var options = Options(TimeSpan.FromMinutes(1));
        var t = T0 + (3 * Day);
        static (long, long) Traffic(long s, long t) => (1000, s >= t && s < t + (10 * Minute) ? 150 : 0);

        var uninterrupted = new AlertEvaluator([Availability()], options);
        var expected = Feed(uninterrupted, T0, t + Hour, Minute, s => Traffic(s, t));

        var first = new AlertEvaluator([Availability()], options);
        var before = Feed(first, T0, t + (8 * Minute), Minute, s => Traffic(s, t));
        Assert.Contains(before, a => a.Severity == Severities.Page && a.State == AlertState.FIRING);
        var json = JsonSerializer.Serialize(first.Capture());

        var restarted = new AlertEvaluator([Availability()], options);
        restarted.Restore(JsonSerializer.Deserialize<EvaluatorState>(json)!);
        Assert.Contains(restarted.Firing, a => a.AlertId == "slo/cancer-availability/page");
        var after = Feed(restarted, t + (8 * Minute), t + Hour, Minute, s => Traffic(s, t));

        Assert.DoesNotContain(after, a => a.Severity == Severities.Page && a.State == AlertState.FIRING);
        Assert.Contains(after, a => a.Severity == Severities.Page && a.State == AlertState.RESOLVED);
        Assert.Equal(
            expected.Select(a => (a.AlertId, a.State, a.EventTimeMs, a.LongBurnRate, a.BudgetRemaining)),
            before.Concat(after).Select(a => (a.AlertId, a.State, a.EventTimeMs, a.LongBurnRate, a.BudgetRemaining)));
    }

    [Fact]
    public void Replay_gives_the_same_alerts_at_the_same_event_times()
    {
        List<Alert> Run()
        {
            var evaluator = new AlertEvaluator([Availability()], Options(TimeSpan.FromMinutes(1)));
            return Feed(evaluator, T0, T0 + (5 * Day), Minute, s => (1000, (s / Minute) % 997 < 12 ? 200 : 1));
        }

        var a = Run();
        var b = Run();
        Assert.NotEmpty(a);
        Assert.Equal(JsonSerializer.Serialize(a), JsonSerializer.Serialize(b));
    }

    [Fact]
    public void Latency_sli_uses_the_entry_whose_threshold_matches_the_slo()
    {
        var slo = Availability() with { Name = "lat", Sli = SliKind.Latency, LatencyThresholdUs = 50_000, Target = 0.99, Tiers = DefaultTiers.For(TimeSpan.FromDays(30)).Skip(1).ToList() };
        var evaluator = new AlertEvaluator([slo], Options(TimeSpan.FromMinutes(1), lowTrafficConfidence: 0));
        var result = Latency(T0, Minute, 1000, 10, fastCount: 900);
        result.LatencySlis.Insert(0, new LatencySli { ThresholdUs = 10_000, Good = 100, Total = 1000 });
        Assert.Equal(InputOutcome.Applied, evaluator.Apply(result));
        var status = evaluator.AdvanceTo(T0 + Minute + Minute).Statuses.Single();
        Assert.Equal(1000, status.PeriodTotal);
        Assert.Equal(100, status.PeriodBad); // errors and slow predictions are both bad: 1000 - 900

        var other = Latency(T0 + Minute, Minute, 1000, 0, thresholdUs: 250_000);
        Assert.Equal(InputOutcome.LatencyThresholdNotComputed, evaluator.Apply(other));
        Assert.Empty(evaluator.AdvanceTo(T0 + (3 * Minute)).Statuses);
    }

    [Fact]
    public void A_calendar_month_budget_resets_at_local_midnight_of_the_first()
    {
        var paris = TimeZoneInfo.FindSystemTimeZoneById("Europe/Paris");
        var slo = Availability() with { Period = SloPeriod.CalendarMonth(paris), Tiers = DefaultTiers.For(TimeSpan.FromDays(30)) };
        var evaluator = new AlertEvaluator([slo], Options(TimeSpan.FromHours(1), lowTrafficConfidence: 0));
        var monthStart = new DateTimeOffset(2026, 11, 30, 23, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds(); // 2026-12-01 00:00 Paris
        var statuses = new List<SloStatus>();
        Feed(evaluator, monthStart - (3 * Hour), monthStart + (2 * Hour), Hour, s => (1000, s < monthStart ? 1 : 0), statuses);
        statuses.AddRange(evaluator.AdvanceTo(monthStart + (2 * Hour) + Minute).Statuses); // the last tick, past the allowed lateness

        var last = statuses.Single(s => s.EvaluatedAtMs == monthStart);
        Assert.Equal(3000, last.PeriodTotal); // November (Paris) holds the three hours before midnight
        Assert.Equal(3, last.PeriodBad);
        var december = statuses[^1];
        Assert.Equal(2000, december.PeriodTotal); // [00:00, 02:00) Paris: December's first two hours only
        Assert.Equal(0, december.PeriodBad);
        Assert.Equal(1, december.BudgetRemaining);
        Assert.Equal("calendar month Europe/Paris", december.Period);
    }
}
