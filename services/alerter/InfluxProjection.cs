using StreamMonitor.Contracts;
using StreamMonitor.Influx;

namespace StreamMonitor.Alerter;

/// <summary>
/// The alerter's InfluxDB points (measurements slo_status, slo_burn_rate and alert, see COMMON.md). Timestamps are
/// event times (evaluation time, or the alert transition's), so a re-emission after a restart overwrites the same
/// point. Null fields are omitted; no NaN or infinity can arise (burn rates are null without traffic).
/// </summary>
public static class InfluxProjection
{
    /// <summary>slo_status and one slo_burn_rate point per tier.</summary>
    public static IEnumerable<LinePoint> Points(SloStatus status)
    {
        ArgumentNullException.ThrowIfNull(status);
        yield return LinePoint.Measurement("slo_status")
            .Tag("slo", status.Slo)
            .Tag("sli", status.Sli)
            .Tag("model", status.ModelName ?? "")
            .Field("budget_remaining", status.BudgetRemaining)
            .Field("period_total", status.PeriodTotal)
            .Field("period_bad", status.PeriodBad)
            .Field("target", status.Target)
            .TimestampMs(status.EvaluatedAtMs);
        foreach (var tier in status.Tiers)
        {
            yield return LinePoint.Measurement("slo_burn_rate")
                .Tag("slo", status.Slo)
                .Tag("tier", tier.Name)
                .Tag("severity", tier.Severity)
                .Field("long_burn_rate", tier.LongBurnRate)
                .Field("short_burn_rate", tier.ShortBurnRate)
                .Field("threshold", tier.BurnRateThreshold)
                .Field("condition_met", tier.ConditionMet ? 1L : 0L)
                .TimestampMs(status.EvaluatedAtMs);
        }
    }

    /// <summary>The alert point of a transition.</summary>
    public static LinePoint Point(Alert alert)
    {
        ArgumentNullException.ThrowIfNull(alert);
        return LinePoint.Measurement("alert")
            .Tag("alert_id", alert.AlertId)
            .Tag("kind", alert.Kind.ToString())
            .Tag("severity", alert.Severity)
            .Tag("name", alert.Name)
            .Tag("model", alert.ModelName ?? "")
            .Field("firing", alert.State == AlertState.FIRING ? 1L : 0L)
            .Field("state", alert.State == AlertState.FIRING ? "firing" : "resolved")
            .Field("value", alert.Value)
            .Field("threshold", alert.Threshold)
            .Field("long_burn_rate", alert.LongBurnRate)
            .Field("short_burn_rate", alert.ShortBurnRate)
            .Field("budget_remaining", alert.BudgetRemaining)
            .TimestampMs(alert.EventTimeMs);
    }
}
