using StreamMonitor.Contracts;

namespace StreamMonitor.Streams;

/// <summary>Stage B of a topology: turns the partials of all source partitions of a window into its result.</summary>
public interface IResultBuilder
{
    /// <summary>Kind of the windows this builder merges.</summary>
    WindowKind Kind { get; }

    /// <summary>Compacted topic of the results.</summary>
    string ResultTopic { get; }

    /// <summary>Source ids ("topic:partition") whose partials make a window complete.</summary>
    IReadOnlyList<string> Sources { get; }

    /// <summary>Merges encoded partial states (ordered by source) into the encoded result event.</summary>
    byte[] Build(WindowKey window, IReadOnlyList<byte[]> partialStates);

    /// <summary>
    /// True for upserted results (quality): the window is emitted whenever a partial changed it, and once more when it
    /// is complete; it is kept until complete (no retention: a source racing ahead must not expire it while another
    /// can still update it). False: emitted at completion or after the merge grace, then on every later partial.
    /// </summary>
    bool Upsert => false;

    /// <summary>
    /// This topology's windows with their grace when it differs from the stage's (<see cref="MergeSettings.GraceMs"/>):
    /// the merge counts a window complete when every source's watermark has reached its
    /// <see cref="WindowSpec.CloseTime"/>.
    /// </summary>
    WindowSpec? Windows => null;

    /// <summary>As <see cref="Build(WindowKey, IReadOnlyList{byte[]})"/>; <paramref name="complete"/>: every source has
    /// passed the window, so this is its last emission.</summary>
    byte[] Build(WindowKey window, IReadOnlyList<byte[]> partialStates, bool complete) => Build(window, partialStates);

    /// <summary>
    /// Whether this builder can build <paramref name="window"/> (false, e.g., for a drift window of a model whose profile
    /// was removed from the configuration while its partials were in flight): the merge dead-letters such partials.
    /// </summary>
    bool Covers(WindowKey window) => true;
}

/// <summary>Settings of the merge stage.</summary>
/// <param name="GraceMs">Window grace (same as stage A).</param>
/// <param name="MergeGraceMs">Extra event time the merge waits for lagging sources.</param>
/// <param name="RetentionMs">How long an incomplete window is kept after that.</param>
/// <param name="DeadLetterTopic">Where malformed or expired partials go.</param>
/// <param name="Metrics">Where the merge reports results, duplicates, expiries and dead letters (optional).</param>
public sealed record MergeSettings(long GraceMs, long MergeGraceMs, long RetentionMs, string DeadLetterTopic, ITaskMetrics? Metrics = null);
