using System.ComponentModel.DataAnnotations;
using StreamMonitor.Contracts;

namespace StreamMonitor.Traffic;

/// <summary>What happens to the traffic (and, through the demo's hooks, to the system) during a phase.</summary>
public enum PhaseKind
{
    /// <summary>Held-out rows as they are.</summary>
    Normal,

    /// <summary>Rows as they are; the demo hot-loads a heavier (slower) model version at the phase start.</summary>
    LatencyRegression,

    /// <summary>Some features shifted: scaled by <see cref="DriftOptions.Factor"/> plus noise, ramped in.</summary>
    FeatureDrift,
}

/// <summary>One phase of the generated traffic; phases run in order and split the duration by <see cref="Share"/>.</summary>
public sealed class PhaseOptions
{
    /// <summary>Name shown in the live view and the summary.</summary>
    [Required(AllowEmptyStrings = false)]
    public string Name { get; set; } = "";

    /// <summary>What the phase does.</summary>
    public PhaseKind Kind { get; set; }

    /// <summary>Relative length; shares are normalised over all phases.</summary>
    [Range(0.0001, 1000)]
    public double Share { get; set; } = 1;
}

/// <summary>The feature shift of a <see cref="PhaseKind.FeatureDrift"/> phase.</summary>
public sealed class DriftOptions
{
    /// <summary>Features that drift. Texture and area are what a changed scanner calibration would move.</summary>
    public List<string> Features { get; set; } = ["mean_texture", "worst_texture", "mean_area", "worst_area"];

    /// <summary>Multiplicative shift of each drifting feature at full strength.</summary>
    [Range(0.01, 100)]
    public double Factor { get; set; } = 1.35;

    /// <summary>Relative Gaussian noise added to each drifting feature (standard deviation as a share of the value).</summary>
    [Range(0, 10)]
    public double RelativeNoise { get; set; } = 0.05;

    /// <summary>Share of the drift phase over which the shift ramps linearly from 0 to full strength.</summary>
    [Range(0, 1)]
    public double RampShare { get; set; } = 0.2;
}

/// <summary>
/// Settings of the traffic generator (configuration section "Traffic"). Demo time is compressed: each wall-clock second
/// of traffic covers <see cref="TimeCompression"/> seconds of event time, so minutes of demo show hours of traffic.
/// Event ids, event times, row choice, drift noise and label delays are functions of <see cref="Seed"/>,
/// <see cref="StartTimeMs"/> and these settings only, never of the wall clock.
/// </summary>
public sealed class TrafficOptions
{
    /// <summary>Configuration section name.</summary>
    public const string SectionName = "Traffic";

    /// <summary>Model the feature events are addressed to.</summary>
    [Required(AllowEmptyStrings = false)]
    public string ModelName { get; set; } = "cancer";

    /// <summary>Feature events per wall-clock second.</summary>
    [Range(0.1, 1_000_000)]
    public double RatePerSecond { get; set; } = 40;

    /// <summary>Wall-clock length of the run.</summary>
    [DurationRange("1s", "7d")]
    public TimeSpan Duration { get; set; } = TimeSpan.FromMinutes(3);

    /// <summary>Event-time seconds per wall-clock second (60: one second of demo is one minute of traffic).</summary>
    [Range(1, 1_000_000)]
    public double TimeCompression { get; set; } = 60;

    /// <summary>Event time of the first event, an instant in Unix epoch milliseconds (not a duration); must be set (non-zero).</summary>
    [Range(0, long.MaxValue)]
    public long StartTimeMs { get; set; }

    /// <summary>Seed of every random choice.</summary>
    public int Seed { get; set; } = 42;

    /// <summary>
    /// Mean delay (event time) between an event happening and reaching Kafka, exponentially distributed:
    /// events arrive slightly out of order, as from real clients.
    /// </summary>
    [DurationRange("0s", "1h")]
    public TimeSpan ArrivalJitter { get; set; } = TimeSpan.FromMilliseconds(1500);

    /// <summary>Median label delay in event time (lognormal).</summary>
    [DurationRange("1ms", "365d")]
    public TimeSpan LabelDelayMedian { get; set; } = TimeSpan.FromMinutes(20);

    /// <summary>Log-space standard deviation of the label delay (1.0: p90 is 3.6x the median, p99 10x).</summary>
    [Range(0, 5)]
    public double LabelDelaySigma { get; set; } = 1.0;

    /// <summary>Share of events whose label never arrives.</summary>
    [Range(0, 1)]
    public double UnlabeledShare { get; set; } = 0.1;

    /// <summary>Phases in order.</summary>
    public List<PhaseOptions> Phases { get; set; } =
    [
        new() { Name = "normal", Kind = PhaseKind.Normal, Share = 0.3 },
        new() { Name = "latency-regression", Kind = PhaseKind.LatencyRegression, Share = 0.3 },
        new() { Name = "feature-drift", Kind = PhaseKind.FeatureDrift, Share = 0.4 },
    ];

    /// <summary>The shift applied in drift phases.</summary>
    public DriftOptions Drift { get; set; } = new();

    /// <summary>Checks cross-field rules the attributes cannot express; throws naming the bad key.</summary>
    public void Validate()
    {
        if (Phases.Count == 0)
        {
            throw new ValidationException($"{SectionName}:{nameof(Phases)} must name at least one phase.");
        }

        var context = new ValidationContext(this);
        Validator.ValidateObject(this, context, validateAllProperties: true);
        for (var i = 0; i < Phases.Count; i++)
        {
            try
            {
                Validator.ValidateObject(Phases[i], new ValidationContext(Phases[i]), validateAllProperties: true);
            }
            catch (ValidationException ex)
            {
                throw new ValidationException($"{SectionName}:{nameof(Phases)}:{i}: {ex.Message}", ex);
            }
        }

        Validator.ValidateObject(Drift, new ValidationContext(Drift), validateAllProperties: true);
        if (Phases.Select(p => p.Name).Distinct(StringComparer.Ordinal).Count() != Phases.Count)
        {
            throw new ValidationException($"{SectionName}:{nameof(Phases)}: phase names must be unique.");
        }
    }
}
