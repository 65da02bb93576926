namespace StreamMonitor.Slo;

/// <summary>The ratio SLIs StreamMonitor computes from its own window results.</summary>
public enum SliKind
{
    /// <summary>Good = ok predictions with e2e latency at or under the threshold (LatencyWindowResult.latency_slis).</summary>
    Latency,

    /// <summary>Good = predictions without error (count - error_count over count).</summary>
    Availability,

    /// <summary>Good = correct labeled predictions over labeled (latest QualityWindowResult revision).</summary>
    Quality,
}

/// <summary>Severity of a burn-rate tier (who is woken up).</summary>
public static class Severities
{
    /// <summary>Wakes someone up.</summary>
    public const string Page = "page";

    /// <summary>A ticket for working hours.</summary>
    public const string Ticket = "ticket";

    /// <summary>Known severities, fastest first.</summary>
    public static readonly IReadOnlyList<string> All = [Page, Ticket];
}

/// <summary>
/// A validated SLO: an Occurrences-budgeted ratio SLI over a rolling or calendar-month period, with its
/// multiwindow multi-burn-rate tiers.
/// </summary>
public sealed record SloDefinition
{
    /// <summary>Unique SLO name; also the SloStatus key and part of alert ids.</summary>
    public required string Name { get; init; }

    /// <summary>Service the SLO belongs to (OpenSLO "service").</summary>
    public required string Service { get; init; }

    /// <summary>Model whose results feed the SLI (all versions are summed).</summary>
    public required string Model { get; init; }

    /// <summary>Which SLI.</summary>
    public required SliKind Sli { get; init; }

    /// <summary>Latency threshold in microseconds (latency SLI only): picks the latency_slis entry with this threshold.</summary>
    public long? LatencyThresholdUs { get; init; }

    /// <summary>Target ratio of good events, in (0, 1).</summary>
    public required double Target { get; init; }

    /// <summary>The SLO period (rolling or calendar month).</summary>
    public required SloPeriod Period { get; init; }

    /// <summary>Alerting tiers, validated against the target and period.</summary>
    public required IReadOnlyList<BurnRateTierSpec> Tiers { get; init; }

    /// <summary>Labels copied onto every alert of this SLO (routing, silences).</summary>
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();

    /// <summary>Per-SLO override of the missing-data span (quality SLOs wait for labels), or null for the global one.</summary>
    public TimeSpan? MissingDataAfter { get; init; }

    /// <summary>Error budget as a ratio: 1 - target.</summary>
    public double ErrorBudget => 1 - Target;

    /// <summary>Lower-case SLI name as written on SloStatus and InfluxDB tags.</summary>
    public string SliName => Sli.ToString().ToLowerInvariant();
}

/// <summary>
/// One multiwindow tier: it holds when the burn rate over both the long and the short window exceeds
/// <see cref="BurnRate"/>. <see cref="BudgetShare"/> is the share of the period's budget spent when it first fires
/// at exactly that burn rate (burn rate x long window / period).
/// </summary>
public sealed record BurnRateTierSpec(string Name, string Severity, TimeSpan LongWindow, TimeSpan ShortWindow, double BurnRate, double BudgetShare);
