using StreamMonitor.Contracts;
using StreamMonitor.Influx;

namespace StreamMonitor.Alerter;

/// <summary>
/// The alerter's InfluxDB points (measurements slo_status, slo_burn_rate and alert, see COMMON.md). Timestamps are
/// event times (evaluation time, or the alert transition's), so a re-emission after a restart overwrites the same
/// point. Null fields are omitted, and so is the model tag of an SLO without a model. The projection is a rebuildable
/// view of the alerts and slo-status topics (<see cref="AlerterProjector"/>): Project never throws, and a point that
/// cannot be built is reported, not fatal.
/// </summary>
public static class InfluxProjection
{
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
    /// The points of one status (slo_status and its slo_burn_rate points, all from the record) that line protocol can
    /// carry, and "measurement: why" for each it cannot. Never throws on data.
    /// </summary>
    public static (IReadOnlyList<LinePoint> Points, IReadOnlyList<string> Rejected) Project(SloStatus status)
    {
        ArgumentNullException.ThrowIfNull(status);
        var (points, problems) = (new List<LinePoint>(), new List<string>());
        Add(points, problems, "slo_status", () => StatusPoint(status));
        foreach (var tier in status.Tiers)
        {
            Add(points, problems, $"slo_burn_rate {tier.Name}", () => BurnRatePoint(status, tier));
        }

        return (points, problems);
    }

    /// <summary>The alert point of one transition, or why line protocol cannot carry it. Never throws on data.</summary>
    public static (IReadOnlyList<LinePoint> Points, IReadOnlyList<string> Rejected) Project(Alert alert)
    {
        ArgumentNullException.ThrowIfNull(alert);
        var (points, problems) = (new List<LinePoint>(), new List<string>());
        Add(points, problems, "alert", () => Point(alert));
        return (points, problems);
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
