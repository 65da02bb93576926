using StreamMonitor.Contracts;

namespace StreamMonitor.Slo;

/// <summary>Alert transitions and SLO statuses of the ticks evaluated by one <see cref="AlertEvaluator.AdvanceTo(GroupWatermarks)"/>, in release order (tick + lateness).</summary>
public sealed class EvaluationOutput
{
    /// <summary>Alert transitions (firing or resolved).</summary>
    public List<Alert> Alerts { get; } = [];

    /// <summary>SLO statuses evaluated.</summary>
    public List<SloStatus> Statuses { get; } = [];

    /// <summary>Ticks evaluated (all groups).</summary>
    public int Ticks { get; set; }
}
