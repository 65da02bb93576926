using StreamMonitor.Contracts;
using StreamMonitor.Influx;

namespace StreamMonitor.Alerter;

/// <summary>A derived record whose points line protocol cannot (all) carry, with why.</summary>
/// <param name="Record">The <see cref="SloStatus"/> or <see cref="Alert"/>.</param>
/// <param name="Key">Its key on its topic (SLO name or alert id).</param>
/// <param name="EventTimeMs">Its event time.</param>
/// <param name="Detail">Which points failed and why.</param>
public sealed record RejectedProjection(object Record, string Key, long EventTimeMs, string Detail);

/// <summary>The points of an evaluation's outputs, and the outputs some of whose points could not be built.</summary>
/// <param name="Points">Points line protocol can carry.</param>
/// <param name="Rejected">Outputs with points it cannot carry (their other points are in <paramref name="Points"/>).</param>
public sealed record ProjectedOutputs(IReadOnlyList<LinePoint> Points, IReadOnlyList<RejectedProjection> Rejected);

/// <summary>
/// The alerter's InfluxDB points (measurements slo_status, slo_burn_rate and alert, see COMMON.md). Timestamps are
/// event times (evaluation time, or the alert transition's), so a re-emission after a restart overwrites the same
/// point. Null fields are omitted, and so is the model tag of an SLO without a model. The projection is a rebuildable
/// view of the alerts and slo-status topics: <see cref="Project"/> never throws, and a point that cannot be built is
/// reported, not fatal.
/// </summary>
public static class InfluxProjection
{
    /// <summary>slo_status and one slo_burn_rate point per tier.</summary>
    /// <exception cref="LineProtocolException">A value line protocol cannot carry.</exception>
    public static IEnumerable<LinePoint> Points(SloStatus status)
    {
        ArgumentNullException.ThrowIfNull(status);
        yield return StatusPoint(status);
        foreach (var tier in status.Tiers)
        {
            yield return BurnRatePoint(status, tier);
        }
    }

    /// <summary>The alert point of a transition.</summary>
    /// <exception cref="LineProtocolException">A value line protocol cannot carry.</exception>
    public static LinePoint Point(Alert alert)
    {
        ArgumentNullException.ThrowIfNull(alert);
        return OptionalTag(LinePoint.Measurement("alert")
                .Tag("alert_id", alert.AlertId)
                .Tag("kind", alert.Kind.ToString())
                .Tag("severity", alert.Severity)
                .Tag("name", alert.Name), "model", alert.ModelName)
            .Field("firing", alert.State == AlertState.FIRING ? 1L : 0L)
            .Field("state", alert.State == AlertState.FIRING ? "firing" : "resolved")
            .Field("value", alert.Value)
            .Field("threshold", alert.Threshold)
            .Field("long_burn_rate", alert.LongBurnRate)
            .Field("short_burn_rate", alert.ShortBurnRate)
            .Field("budget_remaining", alert.BudgetRemaining)
            .TimestampMs(alert.EventTimeMs);
    }

    /// <summary>
    /// Every point of the statuses and alerts that line protocol can carry; each status or alert with a point it cannot
    /// carry is listed once in <see cref="ProjectedOutputs.Rejected"/>. Never throws on data.
    /// </summary>
    public static ProjectedOutputs Project(IEnumerable<SloStatus> statuses, IEnumerable<Alert> alerts)
    {
        ArgumentNullException.ThrowIfNull(statuses);
        ArgumentNullException.ThrowIfNull(alerts);
        var points = new List<LinePoint>();
        var rejected = new List<RejectedProjection>();
        foreach (var status in statuses)
        {
            var problems = new List<string>();
            Add(points, problems, "slo_status", () => StatusPoint(status));
            foreach (var tier in status.Tiers)
            {
                Add(points, problems, $"slo_burn_rate {tier.Name}", () => BurnRatePoint(status, tier));
            }

            if (problems.Count > 0)
            {
                rejected.Add(new RejectedProjection(status, status.Slo, status.EvaluatedAtMs, string.Join("; ", problems)));
            }
        }

        foreach (var alert in alerts)
        {
            var problems = new List<string>();
            Add(points, problems, "alert", () => Point(alert));
            if (problems.Count > 0)
            {
                rejected.Add(new RejectedProjection(alert, alert.AlertId, alert.EventTimeMs, string.Join("; ", problems)));
            }
        }

        return new ProjectedOutputs(points, rejected);
    }

    private static LinePoint StatusPoint(SloStatus status) =>
        OptionalTag(LinePoint.Measurement("slo_status")
                .Tag("slo", status.Slo)
                .Tag("sli", status.Sli), "model", status.ModelName)
            .Field("budget_remaining", status.BudgetRemaining)
            .Field("period_total", status.PeriodTotal)
            .Field("period_bad", status.PeriodBad)
            .Field("target", status.Target)
            .TimestampMs(status.EvaluatedAtMs);

    private static LinePoint BurnRatePoint(SloStatus status, BurnRateTier tier) =>
        LinePoint.Measurement("slo_burn_rate")
            .Tag("slo", status.Slo)
            .Tag("tier", tier.Name)
            .Tag("severity", tier.Severity)
            .Field("long_burn_rate", tier.LongBurnRate)
            .Field("short_burn_rate", tier.ShortBurnRate)
            .Field("threshold", tier.BurnRateThreshold)
            .Field("condition_met", tier.ConditionMet ? 1L : 0L)
            .TimestampMs(status.EvaluatedAtMs);

    /// <summary>InfluxDB reads an empty tag as no tag, and line protocol cannot write one: an absent model is no tag.</summary>
    private static LinePoint OptionalTag(LinePoint point, string key, string? value) =>
        string.IsNullOrEmpty(value) ? point : point.Tag(key, value);

    private static void Add(List<LinePoint> points, List<string> problems, string what, Func<LinePoint> build)
    {
        try
        {
            var point = build();

            // Rendered here so that a point missing a field or timestamp fails now, not in the writer.
            _ = point.ToLineProtocol();
            points.Add(point);
        }
        catch (Exception ex) when (ex is LineProtocolException or InvalidOperationException or OverflowException or ArgumentException)
        {
            problems.Add($"{what}: {ex.Message}");
        }
    }
}
