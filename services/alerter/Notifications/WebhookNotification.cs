namespace StreamMonitor.Alerter.Notifications;

#pragma warning disable CA1002, CA2227 // JSON payload shapes.

/// <summary>The JSON a webhook receives: one group of alerts, shaped like Alertmanager's webhook payload.</summary>
public sealed class WebhookNotification
{
    /// <summary>Always "streammonitor".</summary>
    public string Receiver { get; set; } = "streammonitor";

    /// <summary>"firing" when any alert in it fires, else "resolved".</summary>
    public string Status { get; set; } = "";

    /// <summary>Identity of the group (its grouping label values).</summary>
    public string GroupKey { get; set; } = "";

    /// <summary>The grouping labels and their values.</summary>
    public Dictionary<string, string> GroupLabels { get; set; } = [];

    /// <summary>Same for every retry and re-send of this notification: receivers deduplicate on it.</summary>
    public string IdempotencyKey { get; set; } = "";

    /// <summary>True for a repeat of unchanged firing alerts (repeat interval).</summary>
    public bool Repeat { get; set; }

    /// <summary>The alerts.</summary>
    public List<WebhookAlert> Alerts { get; set; } = [];
}

/// <summary>One alert in a notification.</summary>
public sealed class WebhookAlert
{
    /// <summary>"firing" or "resolved".</summary>
    public string Status { get; set; } = "";

    /// <summary>Stable alert id (topic key).</summary>
    public string AlertId { get; set; } = "";

    /// <summary>Identity of this transition: alert id, start and state.</summary>
    public string Fingerprint { get; set; } = "";

    /// <summary>SLO_BURN_RATE, DATA_MISSING, FEATURE_DRIFT or LATENCY_REGRESSION.</summary>
    public string Kind { get; set; } = "";

    /// <summary>page or ticket.</summary>
    public string Severity { get; set; } = "";

    /// <summary>Labels.</summary>
    public Dictionary<string, string> Labels { get; set; } = [];

    /// <summary>Human summary.</summary>
    public string Summary { get; set; } = "";

    /// <summary>Event time it started firing (ISO 8601).</summary>
    public string StartsAt { get; set; } = "";

    /// <summary>Event time it resolved, when resolved.</summary>
    public string? EndsAt { get; set; }

    /// <summary>Fastest tier that fired (SLO alerts).</summary>
    public string? Tier { get; set; }

    /// <summary>Burn rate over the long window.</summary>
    public double? LongBurnRate { get; set; }

    /// <summary>Burn rate over the short window.</summary>
    public double? ShortBurnRate { get; set; }

    /// <summary>Error budget remaining.</summary>
    public double? BudgetRemaining { get; set; }

    /// <summary>Event time to budget exhaustion at the current burn rate.</summary>
    public long? TimeToExhaustionMs { get; set; }

    /// <summary>Observed value (drift score, p95).</summary>
    public double? Value { get; set; }

    /// <summary>Threshold.</summary>
    public double? Threshold { get; set; }
}
#pragma warning restore CA1002, CA2227
