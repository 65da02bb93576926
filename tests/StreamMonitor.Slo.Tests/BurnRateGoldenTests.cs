using StreamMonitor.Contracts;
using StreamMonitor.Slo;
using static StreamMonitor.Slo.Tests.Generated;

namespace StreamMonitor.Slo.Tests;

/// <summary>Golden tests from the SRE Workbook's arithmetic (chapter 5), 99.9% over 30 days.</summary>
public sealed class BurnRateGoldenTests
{
    private const double Target = 0.999;

    /// <summary>Workbook: time to fire = (1 - target) / error ratio x long window x burn rate.</summary>
    private static double SecondsToFire(double errorRatio, double burnRate, double longWindowSeconds) =>
        (1 - Target) / errorRatio * longWindowSeconds * burnRate;

    [Fact]
    public void Full_outage_pages_when_the_1h_5m_tier_first_holds_52_seconds_plus_window_granularity()
    {
        var window = TimeSpan.FromSeconds(10);
        var evaluator = new AlertEvaluator([Availability()], Options(window));
        var t = T0 + (3 * Day);
        var history = Feed(evaluator, T0, t, 10_000, _ => (100, 0));
        Assert.Empty(history);

        var alerts = Feed(evaluator, t, t + (10 * Minute), 10_000, _ => (100, 100));

        var page = Assert.Single(alerts, a => a.Severity == Severities.Page && a.State == AlertState.FIRING);
        var seconds = SecondsToFire(1.0, 14.4, 3600);
        Assert.Equal(51.84, seconds, 6);

        // The 1h window holds 3 days of clean traffic before t, so the error windows alone decide: the first 10 s window
        // end at or after 51.84 s of errors where the ratio strictly exceeds 14.4 x 0.1%.
        var expected = t + ((long)Math.Floor(seconds / 10) + 1) * 10_000;
        Assert.Equal(t + 60_000, expected);
        Assert.Equal(expected, page.EventTimeMs);
        Assert.Equal(expected, page.StartedAtMs);
        Assert.Equal("page-1h", page.Tier);
        Assert.Equal("slo/cancer-availability/page", page.AlertId);
        Assert.Equal(6.0 / 360 / (1 - Target), page.LongBurnRate!.Value, 9);
        Assert.Equal(6.0 / 30 / (1 - Target), page.ShortBurnRate!.Value, 9);

        // One page for the incident: the 6h tier holds later and is folded in, never paged separately.
        Assert.Single(alerts, a => a.Severity == Severities.Page);
    }

    [Fact]
    public void Fifteen_percent_errors_for_ten_minutes_pages_after_5_76_minutes_and_resolves_5_minutes_after_they_stop()
    {
        var evaluator = new AlertEvaluator([Availability()], Options(TimeSpan.FromMinutes(1)));
        var t = T0 + (3 * Day);
        Feed(evaluator, T0, t, Minute, _ => (1000, 0));
        var statuses = new List<SloStatus>();
        var alerts = Feed(evaluator, t, t + (10 * Minute), Minute, _ => (1000, 150), statuses);
        alerts.AddRange(Feed(evaluator, t + (10 * Minute), t + (40 * Minute), Minute, _ => (1000, 0), statuses));

        var pages = alerts.Where(a => a.Severity == Severities.Page).ToList();
        Assert.Equal(2, pages.Count);
        var firing = pages[0];
        var resolved = pages[1];

        var seconds = SecondsToFire(0.15, 14.4, 3600);
        Assert.Equal(345.6, seconds, 6); // 5.76 minutes
        Assert.Equal(AlertState.FIRING, firing.State);
        Assert.Equal(t + ((long)Math.Floor(seconds / 60) + 1) * Minute, firing.EventTimeMs); // 6 min: 5.76 + granularity
        Assert.Equal("page-1h", firing.Tier);

        // The 5m short window drops below 14.4x exactly 5 minutes after the errors stop ...
        var stop = t + (10 * Minute);
        var cleared = statuses.First(s => s.EvaluatedAtMs > firing.EventTimeMs && !s.Tiers.Single(x => x.Name == "page-1h").ConditionMet);
        Assert.Equal(stop + (5 * Minute), cleared.EvaluatedAtMs);
        Assert.False(cleared.Tiers.Single(x => x.Name == "page-6h").ConditionMet);

        // ... and the alert resolves after the hysteresis hold (1 min default) of no page tier holding.
        Assert.Equal(AlertState.RESOLVED, resolved.State);
        Assert.Equal(stop + (5 * Minute) + Minute, resolved.EventTimeMs);
        Assert.Equal(firing.StartedAtMs, resolved.StartedAtMs);
        Assert.Equal(firing.AlertId, resolved.AlertId);
    }

    [Fact]
    public void Without_hysteresis_the_resolve_is_exactly_at_the_short_window_reset()
    {
        var evaluator = new AlertEvaluator([Availability()], Options(TimeSpan.FromMinutes(1), hold: TimeSpan.Zero));
        var t = T0 + (3 * Day);
        Feed(evaluator, T0, t, Minute, _ => (1000, 0));
        var alerts = Feed(evaluator, t, t + (40 * Minute), Minute, s => (1000, s < t + (10 * Minute) ? 150 : 0));
        var resolved = Assert.Single(alerts, a => a.Severity == Severities.Page && a.State == AlertState.RESOLVED);
        Assert.Equal(t + (15 * Minute), resolved.EventTimeMs);
    }

    [Fact]
    public void Hysteresis_keeps_one_alert_through_a_brief_dip()
    {
        var evaluator = new AlertEvaluator([Availability()], Options(TimeSpan.FromMinutes(1), hold: TimeSpan.FromMinutes(10)));
        var t = T0 + (3 * Day);
        Feed(evaluator, T0, t, Minute, _ => (1000, 0));

        // Full outage, 6 clean minutes (the 5m window clears), then the outage again.
        var alerts = Feed(evaluator, t, t + (30 * Minute), Minute, s => (1000, s < t + (2 * Minute) || s >= t + (8 * Minute) ? 1000 : 0));
        var pages = alerts.Where(a => a.Severity == Severities.Page).ToList();
        Assert.Single(pages);
        Assert.Equal(AlertState.FIRING, pages[0].State);

        var noHysteresis = new AlertEvaluator([Availability()], Options(TimeSpan.FromMinutes(1), hold: TimeSpan.Zero));
        Feed(noHysteresis, T0, t, Minute, _ => (1000, 0));
        var flapping = Feed(noHysteresis, t, t + (30 * Minute), Minute, s => (1000, s < t + (2 * Minute) || s >= t + (8 * Minute) ? 1000 : 0));
        Assert.Equal(3, flapping.Count(a => a.Severity == Severities.Page));
    }

    [Fact]
    public void A_steady_35x_burn_is_caught_by_the_fast_page_tier()
    {
        var evaluator = new AlertEvaluator([Availability()], Options(TimeSpan.FromMinutes(1)));
        var t = T0 + (3 * Day);
        Feed(evaluator, T0, t, Minute, _ => (10_000, 0));
        var alerts = Feed(evaluator, t, t + (6 * Hour), Minute, _ => (10_000, 350)); // 3.5% errors = 35x at 99.9%

        var page = Assert.Single(alerts, a => a.Severity == Severities.Page);
        var seconds = SecondsToFire(0.035, 14.4, 3600); // 1481 s = 24.7 min
        Assert.Equal(t + ((long)Math.Floor(seconds / 60) + 1) * Minute, page.EventTimeMs);
        Assert.Equal("page-1h", page.Tier);
        Assert.Equal(35.0, page.ShortBurnRate!.Value, 9);

        // Time to exhaustion at the long-window burn rate: remaining budget x period / burn rate.
        var remaining = page.BudgetRemaining!.Value;
        Assert.Equal((long)(remaining * 30 * Day / page.LongBurnRate!.Value), page.TimeToExhaustionMs);
    }

    [Fact]
    public void A_0_05_percent_error_rate_never_fires()
    {
        var evaluator = new AlertEvaluator([Availability()], Options(TimeSpan.FromMinutes(1)));
        var statuses = new List<SloStatus>();
        var alerts = Feed(evaluator, T0, T0 + (5 * Day), Minute, _ => (10_000, 5), statuses);
        Assert.Empty(alerts);
        var last = statuses[^1];
        Assert.All(last.Tiers, tier => Assert.Equal(0.5, tier.LongBurnRate!.Value, 9));
        
        // Budget (Occurrences): 1 - bad / (total x 0.1%) over the period's events = 1 - 0.5.
        Assert.Equal(0.5, last.BudgetRemaining, 9);
    }

    [Theory]
    [InlineData(0.999, 0)]
    [InlineData(0, 1)]
    public void Ten_requests_an_hour_with_one_failure_pages_only_without_the_low_traffic_guard(double confidence, int expectedPages)
    {
        var evaluator = new AlertEvaluator([Availability()], Options(TimeSpan.FromMinutes(1), confidence));
        var alerts = Feed(evaluator, T0, T0 + (6 * Hour), Minute, start =>
        {
            var minuteOfHour = (start - T0) / Minute % 60;
            var failing = start == T0 + (3 * Hour) + (30 * Minute);
            return minuteOfHour % 6 == 0 ? (1, failing ? 1 : 0) : (0, 0);
        });
        Assert.Equal(expectedPages, alerts.Count(a => a.Severity == Severities.Page && a.State == AlertState.FIRING));
    }

    [Fact]
    public void Workbook_tier_table_for_30_days_and_its_scaling_to_28_and_7_days()
    {
        static void AssertTiers(TimeSpan period, params double[] burnRates)
        {
            var tiers = DefaultTiers.For(period);
            Assert.Equal(["page-1h", "page-6h", "ticket-1d", "ticket-3d"], tiers.Select(t => t.Name));
            Assert.Equal([Severities.Page, Severities.Page, Severities.Ticket, Severities.Ticket], tiers.Select(t => t.Severity));
            Assert.Equal([TimeSpan.FromHours(1), TimeSpan.FromHours(6), TimeSpan.FromDays(1), TimeSpan.FromDays(3)], tiers.Select(t => t.LongWindow));
            Assert.Equal([TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(30), TimeSpan.FromHours(2), TimeSpan.FromHours(6)], tiers.Select(t => t.ShortWindow));
            Assert.Equal([0.02, 0.05, 0.10, 0.10], tiers.Select(t => t.BudgetShare));
            for (var i = 0; i < burnRates.Length; i++)
            {
                Assert.Equal(burnRates[i], tiers[i].BurnRate, 9);
            }
        }

        AssertTiers(TimeSpan.FromDays(30), 14.4, 6, 3, 1);          // SRE Workbook table 5-8
        AssertTiers(TimeSpan.FromDays(28), 13.44, 5.6, 2.8, 28.0 / 30); // 0.02 x 672 h / 1 h, ...
        AssertTiers(TimeSpan.FromDays(7), 3.36, 1.4, 0.7, 7.0 / 30);
    }

    [Fact]
    public void Burn_rates_sum_counts_rather_than_averaging_window_ratios()
    {
        var evaluator = new AlertEvaluator([Availability()], Options(TimeSpan.FromMinutes(1), lowTrafficConfidence: 0));
        var statuses = new List<SloStatus>();

        // One busy healthy window and one nearly idle failing one: the ratio of sums is 1/1001, the mean of ratios 50%.
        Feed(evaluator, T0, T0 + (2 * Minute), Minute, s => s == T0 ? (1000, 0) : (1, 1), statuses);
        statuses.AddRange(evaluator.AdvanceTo(T0 + (3 * Minute)).Statuses); // the second window's tick, past the allowed lateness
        var fast = statuses[^1].Tiers.Single(t => t.Name == "page-1h");
        Assert.Equal(1.0 / 1001 / (1 - Target), fast.LongBurnRate!.Value, 9);
        Assert.Equal(1001, fast.LongTotal);
    }
}
