using StreamMonitor.Contracts;

namespace StreamMonitor.Reports;

/// <summary>One alert incident: the first firing record and, when it came, the resolving one.</summary>
public sealed record AlertIncident(string AlertId, Alert Fired, Alert? Resolved)
{
    /// <summary>Event time the alert fired.</summary>
    public long FiredAtMs => Fired.EventTimeMs;

    /// <summary>Event time the alert resolved, or null while it still fires.</summary>
    public long? ResolvedAtMs => Resolved?.EventTimeMs;
}

/// <summary>
/// The compacted view of the result topics, as a consumer that read them from the beginning sees it: the last value
/// per key for window results and SLO status (what log compaction keeps), plus the full history of alert and SLO
/// records in log order (for spans and transitions). Not thread-safe: one reader fills it.
/// </summary>
public sealed class ResultLog
{
    /// <summary>Latency window results by window key.</summary>
    public Dictionary<WindowKey, LatencyWindowResult> Latency { get; } = [];

    /// <summary>Drift window results by window key.</summary>
    public Dictionary<WindowKey, DriftWindowResult> Drift { get; } = [];

    /// <summary>Quality window results by window key (the latest revision).</summary>
    public Dictionary<WindowKey, QualityWindowResult> Quality { get; } = [];

    /// <summary>Latest SLO status by Kafka key (the SLO name).</summary>
    public Dictionary<string, SloStatus> SloLatest { get; } = new(StringComparer.Ordinal);

    /// <summary>Every SLO status record in log order (per partition order; one SLO lives on one partition).</summary>
    public List<SloStatus> SloHistory { get; } = [];

    /// <summary>Latest alert record by alert id.</summary>
    public Dictionary<string, Alert> AlertLatest { get; } = new(StringComparer.Ordinal);

    /// <summary>Every alert record in log order.</summary>
    public List<Alert> AlertHistory { get; } = [];

    /// <summary>Records that did not decode, by topic (never silently dropped: shown in summaries).</summary>
    public Dictionary<string, long> Undecodable { get; } = new(StringComparer.Ordinal);

    /// <summary>Alert incidents: each alert id's first firing record with its resolve, ordered by firing time.</summary>
    public IReadOnlyList<AlertIncident> Incidents()
    {
        var incidents = new List<AlertIncident>();
        var open = new Dictionary<string, Alert>(StringComparer.Ordinal);
        foreach (var alert in AlertHistory)
        {
            if (alert.State == AlertState.FIRING)
            {
                open.TryAdd(alert.AlertId, alert);
            }
            else if (open.Remove(alert.AlertId, out var fired))
            {
                incidents.Add(new AlertIncident(alert.AlertId, fired, alert));
            }
        }

        incidents.AddRange(open.Select(kv => new AlertIncident(kv.Key, kv.Value, null)));
        return incidents.OrderBy(i => i.FiredAtMs).ThenBy(i => i.AlertId, StringComparer.Ordinal).ToList();
    }

    /// <summary>The window sizes present for a kind of result, smallest first.</summary>
    public IReadOnlyList<long> WindowSizes(WindowKind kind) => (kind switch
    {
        WindowKind.Latency => (IEnumerable<WindowKey>)Latency.Keys,
        WindowKind.Drift => Drift.Keys,
        _ => Quality.Keys,
    }).Select(k => k.WindowSizeMs).Distinct().Order().ToList();

    internal void CountUndecodable(string topic) => Undecodable[topic] = Undecodable.GetValueOrDefault(topic) + 1;
}
