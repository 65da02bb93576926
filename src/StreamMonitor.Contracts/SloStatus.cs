using Avro.Reflect;

namespace StreamMonitor.Contracts;

/// <summary>Burn rates and error budget of one SLO at an event time (schemas/slo-status.avsc).</summary>
public sealed class SloStatus
{
    [AvroField("slo")] public string Slo { get; set; } = "";
    [AvroField("sli")] public string Sli { get; set; } = "";
    [AvroField("model_name")] public string? ModelName { get; set; }
    [AvroField("target")] public double Target { get; set; }
    [AvroField("period")] public string Period { get; set; } = "";
    [AvroField("evaluated_at_ms")] public long EvaluatedAtMs { get; set; }
    [AvroField("period_total")] public long PeriodTotal { get; set; }
    [AvroField("period_bad")] public long PeriodBad { get; set; }
    [AvroField("budget_remaining")] public double BudgetRemaining { get; set; }
    [AvroField("tiers")] public List<BurnRateTier> Tiers { get; set; } = [];
}

/// <summary>One multiwindow burn-rate tier's evaluation.</summary>
public sealed class BurnRateTier
{
    [AvroField("name")] public string Name { get; set; } = "";
    [AvroField("severity")] public string Severity { get; set; } = "";
    [AvroField("long_window_ms")] public long LongWindowMs { get; set; }
    [AvroField("short_window_ms")] public long ShortWindowMs { get; set; }
    [AvroField("burn_rate_threshold")] public double BurnRateThreshold { get; set; }
    [AvroField("long_burn_rate")] public double? LongBurnRate { get; set; }
    [AvroField("short_burn_rate")] public double? ShortBurnRate { get; set; }
    [AvroField("long_total")] public long LongTotal { get; set; }
    [AvroField("short_total")] public long ShortTotal { get; set; }
    [AvroField("condition_met")] public bool ConditionMet { get; set; }
}
