using Prometheus;
using StreamMonitor.Contracts;

namespace StreamMonitor.Alerter;

/// <summary>The alerter's Prometheus metrics (served on /metrics).</summary>
public sealed class AlerterMetrics(IMetricFactory factory)
{
    /// <summary>Input records by topic and outcome (applied, late, ignored reason, tombstone, dead_letter).</summary>
    public Counter Inputs { get; } = factory.CreateCounter("streammon_alerter_inputs_total", "Window results consumed.", ["topic", "outcome"]);

    /// <summary>Alert transitions by kind and state.</summary>
    public Counter Transitions { get; } = factory.CreateCounter("streammon_alerter_alert_transitions_total", "Alert transitions emitted.", ["kind", "state"]);

    /// <summary>Alerts firing now, by kind and severity.</summary>
    public Gauge Firing { get; } = factory.CreateGauge("streammon_alerter_alerts_firing", "Alerts firing now.", ["kind", "severity"]);

    /// <summary>Burn rate of each SLO tier over its long window (NaN-free: absent without traffic).</summary>
    public Gauge LongBurnRate { get; } = factory.CreateGauge("streammon_alerter_long_burn_rate", "Burn rate over the tier's long window.", ["slo", "tier"]);

    /// <summary>Error budget remaining per SLO.</summary>
    public Gauge BudgetRemaining { get; } = factory.CreateGauge("streammon_alerter_budget_remaining", "Error budget remaining (1 = untouched).", ["slo"]);

    /// <summary>Checkpoints written.</summary>
    public Counter Checkpoints { get; } = factory.CreateCounter("streammon_alerter_checkpoints_total", "Checkpoints written.");

    /// <summary>Size of the last checkpoint.</summary>
    public Gauge CheckpointBytes { get; } = factory.CreateGauge("streammon_alerter_checkpoint_bytes", "Size of the last checkpoint's state.");

    /// <summary>Stream clock (last latency tick evaluated), epoch seconds.</summary>
    public Gauge StreamClock { get; } = factory.CreateGauge("streammon_alerter_stream_clock_seconds", "Last latency-result tick evaluated (event time).");

    /// <summary>Watermark of each tick group's input partitions, epoch seconds.</summary>
    public Gauge Watermark { get; } = factory.CreateGauge("streammon_alerter_watermark_seconds", "Per tick group: min over its counting input partitions of the newest window end seen (event time).", ["group"]);

    /// <summary>Notifications by outcome.</summary>
    public Counter Notifications { get; } = factory.CreateCounter("streammon_alerter_notifications_total", "Notification deliveries.", ["outcome"]);

    /// <summary>Records the firing set.</summary>
    public void SetFiring(IEnumerable<Alert> firing)
    {
        ArgumentNullException.ThrowIfNull(firing);
        foreach (var kind in Enum.GetValues<AlertKind>())
        {
            foreach (var severity in new[] { "page", "ticket" })
            {
                Firing.WithLabels(kind.ToString(), severity).Set(firing.Count(a => a.Kind == kind && a.Severity == severity));
            }
        }
    }

    /// <summary>Records an SLO status.</summary>
    public void Record(SloStatus status)
    {
        ArgumentNullException.ThrowIfNull(status);
        BudgetRemaining.WithLabels(status.Slo).Set(status.BudgetRemaining);
        foreach (var tier in status.Tiers)
        {
            if (tier.LongBurnRate is { } rate)
            {
                LongBurnRate.WithLabels(status.Slo, tier.Name).Set(rate);
            }
        }
    }
}
