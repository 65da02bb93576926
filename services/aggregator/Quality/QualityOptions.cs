using System.ComponentModel.DataAnnotations;
using StreamMonitor.Aggregator.Topology;
using StreamMonitor.Contracts;
using StreamMonitor.Kafka;
using StreamMonitor.Streams;

namespace StreamMonitor.Aggregator.Quality;

/// <summary>Configuration section "Aggregator:Quality" (env vars Aggregator__Quality__...): the delayed-label quality topology.</summary>
public sealed class QualityOptions
{
    /// <summary>Run the quality topology (group "{ConsumerGroup}-quality" over predictions and labels).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Tumbling window over prediction event time; the alerter's <c>Alerter:QualityWindow</c> must name the same size.</summary>
    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How long (event time) a prediction waits for its label and a label for its prediction.</summary>
    public TimeSpan LabelHorizon { get; set; } = TimeSpan.FromDays(7);

    /// <summary>A closed window with new joins or expiries is re-emitted when task stream time passes a multiple of this.</summary>
    public TimeSpan UpdateInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>A window closes for new predictions when prediction stream time reaches end + grace.</summary>
    public TimeSpan Grace { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Idle rule (event time): a partition with no unfinished window follows the process's quality watermark minus this.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Records buffered per input partition by the event-time merge of predictions and labels before it is paused.</summary>
    [Range(16, 1_000_000)]
    public int LaneCapacity { get; set; } = 5_000;

    /// <summary>
    /// The label repartition step commits its source offsets (after its produced labels are confirmed) at least this
    /// often while labels flow, and every <c>Aggregator:CheckpointEveryRecords</c> labels: it bounds what a crash produces
    /// again (the join drops those), never a result.
    /// </summary>
    public TimeSpan LabelCommitInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>The settings in effect (call after validation): the durations in the milliseconds of the stream time.</summary>
    public QualitySettings ToSettings(TopicCatalog topics, ITaskMetrics? metrics = null)
    {
        var window = Ms(Window);
        return new QualitySettings(new WindowSpec(window, window, Ms(Grace)), Ms(LabelHorizon), Ms(UpdateInterval), topics, Ms(IdleTimeout), metrics);
    }

    /// <summary>Validation errors (empty when valid).</summary>
    public IEnumerable<ValidationResult> Validate()
    {
        var durations = new[] { (nameof(Window), Window), (nameof(LabelHorizon), LabelHorizon), (nameof(UpdateInterval), UpdateInterval), (nameof(Grace), Grace), (nameof(IdleTimeout), IdleTimeout) };
        foreach (var (name, value) in durations)
        {
            // Binding accepts "-00:00:05" and "00:00:00.0001"; the topology counts whole milliseconds of event time.
            if (value <= TimeSpan.Zero || !Durations.IsWholeMilliseconds(value))
            {
                yield return new ValidationResult($"Aggregator:Quality:{name} must be a positive whole number of milliseconds (e.g. 500ms, 10s, 1m, 1h, 7d), got {Durations.Display(value)}.", ["Quality." + name]);
            }
        }

        if (LabelCommitInterval <= TimeSpan.Zero || LabelCommitInterval > TimeSpan.FromHours(1))
        {
            yield return new ValidationResult("Aggregator:Quality:LabelCommitInterval must be more than 0 and at most 1 h.", ["Quality." + nameof(LabelCommitInterval)]);
        }

        if (LaneCapacity is < 16 or > 1_000_000)
        {
            yield return new ValidationResult("Aggregator:Quality:LaneCapacity must be between 16 and 1000000.", ["Quality." + nameof(LaneCapacity)]);
        }

        if (LabelHorizon < Window)
        {
            yield return new ValidationResult("Aggregator:Quality:LabelHorizon must be at least one Window.", ["Quality." + nameof(LabelHorizon)]);
        }

        if (UpdateInterval > LabelHorizon)
        {
            yield return new ValidationResult("Aggregator:Quality:UpdateInterval must not exceed LabelHorizon.", ["Quality." + nameof(UpdateInterval)]);
        }
    }

    private static long Ms(TimeSpan value) => (long)value.TotalMilliseconds;
}
