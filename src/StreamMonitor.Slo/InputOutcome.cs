namespace StreamMonitor.Slo;

/// <summary>What <see cref="AlertEvaluator"/>'s Apply did with one input (a metric label value).</summary>
public static class InputOutcome
{
    /// <summary>Stored; it takes part from the first tick at or after its window end.</summary>
    public const string Applied = "applied";

    /// <summary>Stored after its tick was already evaluated: it counts only from the next tick on (a live run may then differ from a replay).</summary>
    public const string Late = "late";

    /// <summary>Another window size, or a hopping window of the consumed size (would count events twice).</summary>
    public const string OtherWindowSize = "other_window_size";

    /// <summary>No latency SLI at the SLO's threshold in the result.</summary>
    public const string LatencyThresholdNotComputed = "latency_threshold_not_computed";
}
