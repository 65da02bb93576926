using StreamMonitor.Contracts;

namespace StreamMonitor.Slo;

#pragma warning disable CA1002, CA2227 // Plain checkpoint DTOs serialised as JSON.

/// <summary>Everything the evaluator needs to continue exactly where it stopped (serialised into the alerter checkpoint).</summary>
public sealed class EvaluatorState
{
    /// <summary>Stream clock: max window end seen across all inputs.</summary>
    public long? ClockMs { get; set; }

    /// <summary>First clock value seen; missing data of an SLO that never had data is measured from it.</summary>
    public long? ClockStartMs { get; set; }

    /// <summary>Per-SLO state.</summary>
    public List<SloEvaluatorState> Slos { get; set; } = [];

    /// <summary>Per (model, feature) drift state.</summary>
    public List<DriftRuleState> Drift { get; set; } = [];

    /// <summary>Per model latency-regression state.</summary>
    public List<LatencyRegressionState> Regressions { get; set; } = [];
}

/// <summary>State of one SLO: its window contributions and alert states.</summary>
public sealed class SloEvaluatorState
{
    /// <summary>SLO name.</summary>
    public string Name { get; set; } = "";

    /// <summary>Window contributions still inside the retained range.</summary>
    public List<ContributionState> Contributions { get; set; } = [];

    /// <summary>End of the newest window with data.</summary>
    public long? LastDataMs { get; set; }

    /// <summary>Firing DATA_MISSING alert.</summary>
    public Alert? DataMissing { get; set; }

    /// <summary>Per severity: firing alert and since when no tier has held.</summary>
    public List<SeverityStateDto> Severities { get; set; } = [];
}

/// <summary>One source's counts for one window.</summary>
public sealed record ContributionState(long WindowStartMs, string Source, long Good, long Total, long Revision);

/// <summary>Alert state of one severity of one SLO.</summary>
public sealed record SeverityStateDto(string Severity, Alert? Firing, long? ClearedSinceMs);

/// <summary>Recent drift flags of one feature.</summary>
public sealed class DriftRuleState
{
    /// <summary>Model name.</summary>
    public string Model { get; set; } = "";

    /// <summary>Feature name.</summary>
    public string Feature { get; set; } = "";

    /// <summary>Last N windows.</summary>
    public List<DriftFlag> Windows { get; set; } = [];

    /// <summary>Firing alert.</summary>
    public Alert? Firing { get; set; }
}

/// <summary>Drift decision of one window.</summary>
public sealed record DriftFlag(long WindowStartMs, bool Drifted, double Score, double Threshold);

/// <summary>Latency-regression state of one model.</summary>
public sealed class LatencyRegressionState
{
    /// <summary>Model name.</summary>
    public string Model { get; set; } = "";

    /// <summary>Window being collected (versions arrive separately); judged when a later window arrives.</summary>
    public long? PendingStartMs { get; set; }

    /// <summary>(version, count, p95) of the pending window.</summary>
    public List<VersionP95> Pending { get; set; } = [];

    /// <summary>Judged windows inside the baseline span.</summary>
    public List<WindowP95> History { get; set; } = [];

    /// <summary>Start of the current run of regressed windows.</summary>
    public long? RegressedSinceMs { get; set; }

    /// <summary>Firing alert.</summary>
    public Alert? Firing { get; set; }
}

/// <summary>p95 of one version in the pending window.</summary>
public sealed record VersionP95(string Version, long Count, long P95Us);

/// <summary>p95 of one judged window.</summary>
public sealed record WindowP95(long WindowStartMs, long P95Us);
#pragma warning restore CA1002, CA2227
