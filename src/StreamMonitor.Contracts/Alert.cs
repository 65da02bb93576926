using Avro.Reflect;

namespace StreamMonitor.Contracts;

#pragma warning disable CA1707 // Symbols mirror the Avro enum exactly; Avro.Reflect maps by name.
/// <summary>What raised an alert.</summary>
public enum AlertKind { SLO_BURN_RATE, DATA_MISSING, FEATURE_DRIFT, LATENCY_REGRESSION }

/// <summary>Alert lifecycle state.</summary>
public enum AlertState { FIRING, RESOLVED }
#pragma warning restore CA1707

/// <summary>A firing or resolved alert (schemas/alert.avsc).</summary>
public sealed class Alert
{
    [AvroField("alert_id")] public string AlertId { get; set; } = "";
    [AvroField("kind")] public AlertKind Kind { get; set; }
    [AvroField("state")] public AlertState State { get; set; }
    [AvroField("severity")] public string Severity { get; set; } = "";
    [AvroField("name")] public string Name { get; set; } = "";
    [AvroField("model_name")] public string? ModelName { get; set; }
    [AvroField("tier")] public string? Tier { get; set; }
    [AvroField("long_burn_rate")] public double? LongBurnRate { get; set; }
    [AvroField("short_burn_rate")] public double? ShortBurnRate { get; set; }
    [AvroField("budget_remaining")] public double? BudgetRemaining { get; set; }
    [AvroField("time_to_exhaustion_ms")] public long? TimeToExhaustionMs { get; set; }
    [AvroField("value")] public double? Value { get; set; }
    [AvroField("threshold")] public double? Threshold { get; set; }
    [AvroField("started_at_ms")] public long StartedAtMs { get; set; }
    [AvroField("event_time_ms")] public long EventTimeMs { get; set; }
    [AvroField("summary")] public string Summary { get; set; } = "";
    [AvroField("labels")] public Dictionary<string, string> Labels { get; set; } = [];
}
