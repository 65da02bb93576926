using StreamMonitor.Contracts;

namespace StreamMonitor.Slo;

#pragma warning disable CA1002, CA2227 // Plain checkpoint DTOs serialised as JSON.

/// <summary>Everything the evaluator needs to continue exactly where it stopped (serialised into the alerter checkpoint).</summary>
public sealed class EvaluatorState
{
    /// <summary>Last latency-result tick evaluated (event time).</summary>
    public long? ClockMs { get; set; }

    /// <summary>Last drift tick evaluated.</summary>
    public long? DriftTickMs { get; set; }

    /// <summary>Last quality tick evaluated.</summary>
    public long? QualityTickMs { get; set; }

    /// <summary>First window end seen of any input: the grid origin of a group without results of its own.</summary>
    public long? ClockStartMs { get; set; }

    /// <summary>
    /// Per tick group, the origin of its grid (its first window end; missing data of an SLO that never had data is
    /// measured from it). Absent in checkpoints written before per-group watermarks: every group then uses <see cref="ClockStartMs"/>.
    /// </summary>
    public Dictionary<TickGroup, long?>? GroupStartsMs { get; set; }

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

    /// <summary>Window contributions still inside the retained range, column-wise (compact in JSON).</summary>
    public ContributionColumns Contributions { get; set; } = new();

    /// <summary>Last tick evaluated (the window sums end there); contributions after it are stored, not yet counted.</summary>
    public long? EvaluatedToMs { get; set; }

    /// <summary>End of the newest window with data at or before the last tick.</summary>
    public long? LastDataMs { get; set; }

    /// <summary>Firing DATA_MISSING alert.</summary>
    public Alert? DataMissing { get; set; }

    /// <summary>Per severity: firing alert and since when no tier has held.</summary>
    public List<SeverityStateDto> Severities { get; set; } = [];
}

/// <summary>
/// Window contributions as columns: entry i is source <c>Sources[SourceIndex[i]]</c>, window start = running sum of
/// <c>StartDeltas[0..i]</c>, counts <c>Good[i]</c>/<c>Total[i]</c>, revision <c>Revisions[i]</c> (empty when all 0).
/// Steady traffic makes every column repetitive, so the gzip'd checkpoint stays small.
/// </summary>
public sealed class ContributionColumns
{
    /// <summary>Distinct sources (model versions).</summary>
    public List<string> Sources { get; set; } = [];

    /// <summary>Index into <see cref="Sources"/> per entry.</summary>
    public List<int> SourceIndex { get; set; } = [];

    /// <summary>Window start deltas (first one absolute), ms.</summary>
    public List<long> StartDeltas { get; set; } = [];

    /// <summary>Good counts.</summary>
    public List<long> Good { get; set; } = [];

    /// <summary>Total counts.</summary>
    public List<long> Total { get; set; } = [];

    /// <summary>Revisions; empty when every revision is 0.</summary>
    public List<long> Revisions { get; set; } = [];

    /// <summary>Builds the columns from (start ascending) contributions.</summary>
    public static ContributionColumns From(IEnumerable<(long WindowStartMs, string Source, GoodTotal Counts, long Revision)> contributions)
    {
        ArgumentNullException.ThrowIfNull(contributions);
        var columns = new ContributionColumns();
        var previous = 0L;
        var revisions = new List<long>();
        foreach (var (start, source, counts, revision) in contributions)
        {
            var index = columns.Sources.IndexOf(source);
            if (index < 0)
            {
                index = columns.Sources.Count;
                columns.Sources.Add(source);
            }

            columns.SourceIndex.Add(index);
            columns.StartDeltas.Add(start - previous);
            previous = start;
            columns.Good.Add(counts.Good);
            columns.Total.Add(counts.Total);
            revisions.Add(revision);
        }

        if (revisions.Any(r => r != 0))
        {
            columns.Revisions = revisions;
        }

        return columns;
    }

    /// <summary>The contributions, in the order they were captured.</summary>
    public IEnumerable<(long WindowStartMs, string Source, GoodTotal Counts, long Revision)> Entries()
    {
        var start = 0L;
        for (var i = 0; i < StartDeltas.Count; i++)
        {
            start += StartDeltas[i];
            yield return (start, Sources[SourceIndex[i]], new GoodTotal(Good[i], Total[i]), Revisions.Count > 0 ? Revisions[i] : 0);
        }
    }
}

/// <summary>Alert state of one severity of one SLO.</summary>
public sealed record SeverityStateDto(string Severity, Alert? Firing, long? ClearedSinceMs);

/// <summary>Recent drift flags of one feature.</summary>
public sealed class DriftRuleState
{
    /// <summary>Model name.</summary>
    public string Model { get; set; } = "";

    /// <summary>Feature name.</summary>
    public string Feature { get; set; } = "";

    /// <summary>Flags of the windows still needed (the last N judged and any not yet judged), one per version.</summary>
    public List<DriftFlag> Windows { get; set; } = [];

    /// <summary>Last tick evaluated.</summary>
    public long? EvaluatedToMs { get; set; }

    /// <summary>Oldest window start still counted; older windows are ignored.</summary>
    public long? RetainFromMs { get; set; }

    /// <summary>Firing alert.</summary>
    public Alert? Firing { get; set; }
}

/// <summary>Drift decision of one window for one model version (with its event count: the busiest version decides).</summary>
public sealed record DriftFlag(long WindowStartMs, bool Drifted, double Score, double Threshold, string Version = "", long Count = 0);

/// <summary>Latency-regression state of one model.</summary>
public sealed class LatencyRegressionState
{
    /// <summary>Model name.</summary>
    public string Model { get; set; } = "";

    /// <summary>Last tick judged: windows ending at or before it are no longer accepted.</summary>
    public long? JudgedToMs { get; set; }

    /// <summary>(version, count, p95, window) of the windows not yet judged.</summary>
    public List<VersionP95> Pending { get; set; } = [];

    /// <summary>Judged windows inside the baseline span.</summary>
    public List<WindowP95> History { get; set; } = [];

    /// <summary>Start of the current run of regressed windows.</summary>
    public long? RegressedSinceMs { get; set; }

    /// <summary>Firing alert.</summary>
    public Alert? Firing { get; set; }
}

/// <summary>p95 of one version in a pending window.</summary>
public sealed record VersionP95(string Version, long Count, long P95Us, long WindowStartMs = 0);

/// <summary>p95 of one judged window.</summary>
public sealed record WindowP95(long WindowStartMs, long P95Us);
#pragma warning restore CA1002, CA2227
