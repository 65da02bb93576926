using StreamMonitor.Contracts;
using StreamMonitor.Slo;
using StreamMonitor.Testing;
using static StreamMonitor.Slo.Tests.Generated;

namespace StreamMonitor.Alerter.Tests;

/// <summary>The alerter's InfluxDB projection against a real influxd.</summary>
public sealed class InfluxProjectionTests(InfluxFixture influx) : IClassFixture<InfluxFixture>
{
    [Fact]
    public async Task Points_land_with_their_event_times_and_rewrites_overwrite()
    {
        var options = await influx.CreateDatabaseAsync("alerter");
        var evaluator = new AlertEvaluator([Availability()], Options(TimeSpan.FromMinutes(1)));
        var statuses = new List<SloStatus>();
        var t = T0 + (6 * Hour);
        var alerts = Feed(evaluator, T0, t + Hour, Minute, s => (s < t ? 0 : 1000, s >= t && s < t + (10 * Minute) ? 150 : 0), statuses);
        Assert.Equal(2, alerts.Count(a => a.Severity == Severities.Page));

        var points = statuses.SelectMany(s => InfluxProjection.Project(s).Points).Concat(alerts.Select(InfluxProjection.Point)).ToList();
        await using (var writer = InfluxFixture.CreateWriter(options))
        {
            // Written twice, as after a restart that re-processes inputs: identity = measurement + tags + time.
            await writer.WriteAsync(points);
            await writer.WriteAsync(points);
            await writer.FlushAsync();
        }

        using var query = InfluxFixture.CreateQueryClient(options);
        var status = Assert.Single(await query.QueryAsync("SELECT count(budget_remaining) FROM slo_status"));
        Assert.Equal(statuses.Count, status.GetInt64(0, "count"));

        // Zero traffic (the first 6 hours) writes no burn-rate fields rather than NaN: only windows with traffic count.
        var burn = Assert.Single(await query.QueryAsync("SELECT count(long_burn_rate) FROM slo_burn_rate WHERE tier = 'page-1h'"));
        Assert.Equal(statuses.Count(s => s.Tiers[0].LongBurnRate is not null), burn.GetInt64(0, "count"));
        var met = Assert.Single(await query.QueryAsync("SELECT sum(condition_met) FROM slo_burn_rate WHERE tier = 'page-1h'"));
        Assert.Equal(statuses.Count(s => s.Tiers[0].ConditionMet), met.GetInt64(0, "sum"));

        var alertRows = Assert.Single(await query.QueryAsync("SELECT firing, state, long_burn_rate FROM alert WHERE severity = 'page'"));
        Assert.Equal(2, alertRows.Rows.Count);
        var firing = alerts.First(a => a.Severity == Severities.Page);
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(firing.EventTimeMs).UtcDateTime, alertRows.GetTime(0));
        Assert.Equal("firing", alertRows.GetString(0, "state"));
        Assert.Equal("resolved", alertRows.GetString(1, "state"));
        Assert.Equal(firing.LongBurnRate!.Value, alertRows.GetDouble(0, "long_burn_rate")!.Value, 9);
    }
}
