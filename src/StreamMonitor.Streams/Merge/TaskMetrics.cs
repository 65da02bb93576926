using StreamMonitor.Contracts;

namespace StreamMonitor.Streams;

/// <summary>What the partial and merge stages report as they run (the host maps it to its metrics, the aggregator to Prometheus).</summary>
public interface ITaskMetrics
{
    /// <summary>A record of <paramref name="topic"/> was routed to the late-events topic.</summary>
    void Late(string topic);

    /// <summary>A record was sent to the dead-letter topic with <paramref name="reasonCode"/>.</summary>
    void DeadLetter(string reasonCode);

    /// <summary>
    /// An input record of <paramref name="topic"/> was rejected by the record policy with <paramref name="reasonCode"/>
    /// (counted once, by the consumer that routes it, whether it is dead-lettered or, for feature events the scorer
    /// dead-letters, only counted).
    /// </summary>
    void Rejected(string topic, string reasonCode);

    /// <summary>A valid feature event of a model without a drift profile: scored and monitored elsewhere, drift not computed.</summary>
    void DriftSkipped();

    /// <summary>Stage A emitted a partial of a <paramref name="kind"/> window (final or an idle flush).</summary>
    void PartialEmitted(WindowKind kind, bool final);

    /// <summary>Stage B emitted (or re-emitted) a <paramref name="kind"/> window result.</summary>
    void ResultEmitted(WindowKind kind);

    /// <summary>Stage B ignored a partial of a complete window (a replayed duplicate).</summary>
    void MergeDuplicate();

    /// <summary>Stage B dead-lettered a partial of a dropped window.</summary>
    void MergeExpired();
}
