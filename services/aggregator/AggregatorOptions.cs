using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using StreamMonitor.Aggregator.Quality;
using StreamMonitor.Analytics.Drift;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.Validation;
using StreamMonitor.Kafka;
using StreamMonitor.Streams;

namespace StreamMonitor.Aggregator;

/// <summary>Configuration section "Aggregator" (env vars Aggregator__...).</summary>
public sealed class AggregatorOptions : IValidatableObject
{
    /// <summary>Configuration section name.</summary>
    public const string SectionName = "Aggregator";

    /// <summary>
    /// Windows, each "size" (tumbling) or "size/advance" (hopping), durations like 10s, 1m, 1h, 500ms. Sizes must be
    /// distinct: the result key carries the size only. Empty = the defaults 10s and 1m (a configured list replaces
    /// them: the configuration binder appends to non-empty lists).
    /// </summary>
    public List<string> Windows { get; set; } = [];

    /// <summary>Event-time grace after a window's end during which out-of-order records are still counted.</summary>
    [DurationRange("0s", "1d", WholeMilliseconds = true), RenamedFrom("GraceMs", "ms")]
    public TimeSpan Grace { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Idle rule: a partition's open window is flushed provisionally once the largest stream time known to the
    /// process is at least end + grace + IdleTimeout (event time, never the wall clock).
    /// </summary>
    [DurationRange("0s", "1d", WholeMilliseconds = true), RenamedFrom("IdleTimeoutMs", "ms")]
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The merge emits a window without the partials of lagging partitions once another partition's
    /// watermark is at least end + grace + MergeGrace; late partials re-emit it.</summary>
    [DurationRange("0s", "1d", WholeMilliseconds = true), RenamedFrom("MergeGraceMs", "ms")]
    public TimeSpan MergeGrace { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long (event time after end + grace + merge grace) the merge keeps an incomplete window for
    /// partials that are still to come; partials after that are counted and dead-lettered.</summary>
    [DurationRange("0s", "30d", WholeMilliseconds = true), RenamedFrom("MergeRetentionMs", "ms")]
    public TimeSpan MergeRetention { get; set; } = TimeSpan.FromHours(1);

    /// <summary>End-to-end latency thresholds (µs) of the latency SLIs: good = successful and e2e ≤ threshold.</summary>
    /// <remarks>Empty = the defaults 50 ms, 100 ms, 250 ms, 1 s.</remarks>
    public List<long> SliThresholdsUs { get; set; } = [];

    /// <summary>The windows in effect.</summary>
    public IReadOnlyList<string> EffectiveWindows => Windows.Count == 0 ? ["10s", "1m"] : Windows;

    /// <summary>The SLI thresholds in effect.</summary>
    public IReadOnlyList<long> EffectiveSliThresholdsUs => SliThresholdsUs.Count == 0 ? [50_000, 100_000, 250_000, 1_000_000] : SliThresholdsUs;

    /// <summary>Consumer group prefix: stage A uses "{group}", the quality join "{group}-quality", the merge "{group}-merge".</summary>
    [Required(AllowEmptyStrings = false)]
    public string ConsumerGroup { get; set; } = "streammon-aggregator";

    /// <summary>Checkpoint after this many records per processor.</summary>
    [Range(1, 10_000_000)]
    public int CheckpointEveryRecords { get; set; } = 20_000;

    /// <summary>Checkpoint at least this often while records flow (bounds replay after a crash; never a result).</summary>
    [DurationRange("10ms", "10m"), RenamedFrom("CheckpointIntervalMs", "ms")]
    public TimeSpan CheckpointInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Reference profiles by model name (paths to files written by `streammon profile build`).</summary>
    public Dictionary<string, string> Profiles { get; set; } = [];

    /// <summary>Drift decision thresholds (defaults: Evidently's preset; see docs/aggregator.md).</summary>
    public DriftThresholds DriftThresholds { get; set; } = new();

    /// <summary>Write results to InfluxDB (section "Influx").</summary>
    public bool InfluxEnabled { get; set; } = true;

    /// <summary>Run the latency/traffic topology.</summary>
    public bool Latency { get; set; } = true;

    /// <summary>Run the drift topology (needs at least one profile).</summary>
    public bool Drift { get; set; } = true;

    /// <summary>The delayed-label quality topology (section "Aggregator:Quality").</summary>
    public QualityOptions Quality { get; set; } = new();

    /// <summary>Event-time plausibility of every input record (section "Aggregator:EventTime").</summary>
    [ValidateObjectMembers]
    public EventTimeOptions EventTime { get; set; } = new();

    /// <summary>
    /// Dead-letter feature events the record policy rejects. Off by default: the scorer reads every feature record and
    /// dead-letters the bad ones itself, so the drift topology only counts them (one dead letter per bad record). Turn
    /// it on where no scorer runs.
    /// </summary>
    public bool DeadLetterFeatures { get; set; }

    /// <summary>Stage A's settings: the windows with <see cref="Grace"/> and <see cref="IdleTimeout"/> in the milliseconds of the stream time.</summary>
    public StageSettings ToStageSettings(TopicCatalog topics, ITaskMetrics? metrics = null) =>
        new(WindowSpecs(), (long)Grace.TotalMilliseconds, (long)IdleTimeout.TotalMilliseconds, topics, metrics);

    /// <summary>The merge's settings: <see cref="Grace"/>, <see cref="MergeGrace"/> and <see cref="MergeRetention"/> in milliseconds.</summary>
    public MergeSettings ToMergeSettings(TopicCatalog topics, ITaskMetrics? metrics = null) =>
        new((long)Grace.TotalMilliseconds, (long)MergeGrace.TotalMilliseconds, (long)MergeRetention.TotalMilliseconds, topics.DeadLetter, metrics);

    /// <summary>The parsed window specs.</summary>
    public IReadOnlyList<WindowSpec> WindowSpecs() => EffectiveWindows.Select(ParseWindow).ToList();

    /// <summary>Parses "10s" or "5m/1m".</summary>
    public static WindowSpec ParseWindow(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Split('/');
        var size = ParseDuration(parts[0]);
        return parts.Length switch
        {
            1 => new WindowSpec(size, size),
            2 => new WindowSpec(size, ParseDuration(parts[1])),
            _ => throw new FormatException($"Not a window: '{text}'."),
        };
    }

    /// <summary>Parses a positive duration in <see cref="Durations"/> notation (500ms, 10s, 1m, 1h, 1d, 1w) into milliseconds.</summary>
    public static long ParseDuration(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ms = Durations.ParseMilliseconds(text);
        return ms > 0 ? ms : throw new FormatException($"'{text}' is not a positive duration.");
    }

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        var specs = new List<WindowSpec>();
        foreach (var window in EffectiveWindows)
        {
            WindowSpec? spec = null;
            string? error = null;
            try
            {
                spec = ParseWindow(window);
            }
            catch (Exception ex) when (ex is FormatException or ArgumentException)
            {
                error = ex.Message;
            }

            if (error is not null)
            {
                yield return new ValidationResult(error, [nameof(Windows)]);
            }
            else if (spec is not null)
            {
                specs.Add(spec);
            }
        }

        if (specs.Count == 0 || specs.Count > 8)
        {
            yield return new ValidationResult("Configure between 1 and 8 windows.", [nameof(Windows)]);
        }

        if (specs.Select(s => s.SizeMs).Distinct().Count() != specs.Count)
        {
            yield return new ValidationResult("Window sizes must be distinct.", [nameof(Windows)]);
        }

        foreach (var error in Quality.Validate())
        {
            yield return error;
        }

        if (EffectiveSliThresholdsUs.Any(t => t <= 0) || EffectiveSliThresholdsUs.Distinct().Count() != EffectiveSliThresholdsUs.Count)
        {
            yield return new ValidationResult("SLI thresholds must be positive and distinct.", [nameof(SliThresholdsUs)]);
        }
    }
}
