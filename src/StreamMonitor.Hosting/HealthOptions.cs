using System.ComponentModel.DataAnnotations;

namespace StreamMonitor.Hosting;

/// <summary>Liveness settings (configuration section "Health").</summary>
public sealed class HealthOptions
{
    /// <summary>Configuration section name.</summary>
    public const string SectionName = "Health";

    /// <summary>
    /// /healthz answers 503 when a processing loop has had input waiting and made no progress for this long. Longer than
    /// any legitimate pause of a loop (a checkpoint, a slow InfluxDB flush, a rebalance), shorter than an operator's
    /// patience.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "1.00:00:00")]
    public TimeSpan StallTimeout { get; set; } = TimeSpan.FromMinutes(2);
}
