using StreamMonitor.Slo;

namespace StreamMonitor.Slo.Tests;

public sealed class SloFileTests
{
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(10);

    [Fact]
    public void The_shipped_example_file_loads()
    {
        var path = Path.Combine(RepoRoot(), "config", "slos.yaml");
        var slos = SloFile.Load(path, Window, TimeSpan.FromMinutes(1));
        Assert.Equal(["cancer-latency", "cancer-availability", "cancer-accuracy"], slos.Select(s => s.Name));
        var latency = slos[0];
        Assert.Equal(SliKind.Latency, latency.Sli);
        Assert.Equal(50_000, latency.LatencyThresholdUs);
        Assert.Equal(0.99, latency.Target);
        Assert.Equal(SliKind.Availability, slos[1].Sli);
        Assert.Equal(0.999, slos[1].Target);
        Assert.Equal(SliKind.Quality, slos[2].Sli);
        Assert.Equal(0.90, slos[2].Target);
        Assert.All(slos, s => Assert.Equal("cancer", s.Model));
    }

    [Fact]
    public void Rolling_and_calendar_windows_and_custom_tiers_parse()
    {
        const string yaml = """
            slos:
              - name: a
                model: m
                indicator: { kind: availability }
                objectives: { target: 0.995 }
                timeWindow: { duration: 28d, isRolling: true }
              - name: b
                model: m
                indicator: { kind: latency, threshold: 250ms }
                objectives: { target: 0.99 }
                timeWindow: { duration: 1M, isRolling: false, calendar: { timeZone: Europe/Paris } }
                alertPolicy:
                  tiers:
                    - { name: fast, severity: page, longWindow: 1h, shortWindow: 5m, budgetShare: 0.02 }
                    - { name: slow, severity: ticket, longWindow: 6h, shortWindow: 30m, burnRate: 2 }
            """;
        var slos = SloFile.Parse(yaml, Window);
        Assert.Equal(TimeSpan.FromDays(28), slos[0].Period.Rolling);
        Assert.Equal(13.44, slos[0].Tiers[0].BurnRate, 9);
        Assert.Equal("rolling 28d", slos[0].Period.ToString());
        Assert.Equal("Europe/Paris", slos[1].Period.Zone!.Id);
        Assert.Equal(250_000, slos[1].LatencyThresholdUs);
        Assert.Equal(14.4, slos[1].Tiers[0].BurnRate, 9);
        Assert.Equal(2, slos[1].Tiers[1].BurnRate);
    }

    [Fact]
    public void Calendar_month_starts_at_local_midnight_of_the_first()
    {
        var period = SloPeriod.CalendarMonth(TimeZoneInfo.FindSystemTimeZoneById("Europe/Paris"));

        // 2026-11-22T12:00Z is in November; Paris is UTC+1 in November, so the month began 2026-10-31T23:00Z.
        var evaluation = DateTimeOffset.Parse("2026-11-22T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture).ToUnixTimeMilliseconds();
        Assert.Equal(DateTimeOffset.Parse("2026-10-31T23:00:00Z", System.Globalization.CultureInfo.InvariantCulture).ToUnixTimeMilliseconds(), period.StartMs(evaluation));
        Assert.Equal(30L * 24 * 3_600_000, period.LengthMs(evaluation));
    }

    [Fact]
    public void Every_problem_is_reported_with_a_clear_message()
    {
        const string yaml = """
            slos:
              - name: dup
                model: m
                indicator: { kind: availability }
                objectives: { target: 0.9 }
                timeWindow: { duration: 30d }
              - name: dup
                model: m
                indicator: { kind: throughput }
                objectives: { target: 0.99 }
                timeWindow: { duration: 30d }
              - name: tz
                model: m
                indicator: { kind: availability }
                objectives: { target: 0.99 }
                timeWindow: { duration: 1M, isRolling: false, calendar: { timeZone: Mars/Olympus } }
              - name: long
                model: m
                indicator: { kind: availability }
                objectives: { target: 0.99 }
                timeWindow: { duration: 7d }
                alertPolicy:
                  tiers:
                    - { name: huge, severity: ticket, longWindow: 14d, shortWindow: 1d, burnRate: 1 }
              - name: target
                model: m
                indicator: { kind: latency }
                objectives: { target: 99.9 }
                timeWindow: { duration: 30d }
            """;
        var ex = Assert.Throws<SloValidationException>(() => SloFile.Parse(yaml, Window));
        Assert.Contains(ex.Errors, e => e.StartsWith("SLO 'dup' tier 'page-1h': can never fire: burn rate 14.4 x error budget 0.1 = 1.44 > 1", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e == "SLO 'dup': duplicate SLO name");
        Assert.Contains(ex.Errors, e => e.Contains("unknown SLI 'throughput'", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.Contains("unknown time zone 'Mars/Olympus'", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.Contains("tier 'huge': longWindow 14d is longer than the period rolling 7d", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.Contains("SLO 'target': 'objectives.target' must be a ratio strictly between 0 and 1", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.Contains("SLO 'target': a latency SLI needs 'indicator.threshold'", StringComparison.Ordinal));
        Assert.Contains("Invalid SLO configuration", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Windows_that_are_not_multiples_of_the_result_window_are_rejected()
    {
        const string yaml = """
            slos:
              - name: a
                model: m
                indicator: { kind: availability }
                objectives: { target: 0.99 }
                timeWindow: { duration: 30d }
                alertPolicy:
                  tiers:
                    - { name: odd, severity: page, longWindow: 1h, shortWindow: 45s, burnRate: 14.4 }
            """;
        var ex = Assert.Throws<SloValidationException>(() => SloFile.Parse(yaml, TimeSpan.FromMinutes(1)));
        Assert.Contains(ex.Errors, e => e.Contains("must be multiples of the result window 1m", StringComparison.Ordinal));
    }

    [Fact]
    public void Yaml_syntax_and_unknown_fields_name_the_line()
    {
        var ex = Assert.Throws<SloValidationException>(() => SloFile.Parse("slos:\n  - name: a\n    tagret: 0.9\n", Window, "slos.yaml"));
        Assert.Contains(ex.Errors, e => e.StartsWith("slos.yaml: line 3", StringComparison.Ordinal));
    }

    internal static string RepoRoot()
    {
        var dir = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(dir, "StreamMonitor.sln")))
        {
            dir = Path.GetDirectoryName(dir) ?? throw new InvalidOperationException("repository root not found");
        }

        return dir;
    }
}
