using System.ComponentModel.DataAnnotations;
using StreamMonitor.Contracts.Validation;

namespace StreamMonitor.Aggregator;

/// <summary>
/// Configuration section "Aggregator:EventTime" (env vars Aggregator__EventTime__...): which event times are plausible,
/// judged against each record's Kafka timestamp (<see cref="EventTimePolicy"/>). An implausible one is rejected before
/// it can move a stream time: one record 100 years ahead would otherwise make every later record late, for good.
/// </summary>
public sealed class EventTimeOptions
{
    /// <summary>Largest <see cref="MaxAhead"/> accepted: beyond it the check no longer protects the stream times.</summary>
    public static readonly TimeSpan MaxAheadLimit = TimeSpan.FromDays(30);

    /// <summary>Largest <see cref="MaxBehind"/> accepted (about the 1970..9999 range the policy also enforces).</summary>
    public static readonly TimeSpan MaxBehindLimit = TimeSpan.FromDays(36_500);

    /// <summary>How far an event time may be ahead of its record timestamp (producer and broker clock skew); default 1 h.</summary>
    public TimeSpan MaxAhead { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How far an event time may be behind its record timestamp (backfills, replays of old ranges); default 3650 d.</summary>
    public TimeSpan MaxBehind { get; set; } = TimeSpan.FromDays(3650);

    /// <summary>The policy in effect (call after validation).</summary>
    public EventTimePolicy ToPolicy() => new(MaxAhead, MaxBehind);

    /// <summary>Validation errors (empty when valid).</summary>
    public IEnumerable<ValidationResult> Validate()
    {
        if (MaxAhead < TimeSpan.Zero || MaxAhead > MaxAheadLimit)
        {
            yield return new ValidationResult($"Aggregator:EventTime:MaxAhead {MaxAhead} must be between 0 and {MaxAheadLimit.TotalDays} days.", ["EventTime." + nameof(MaxAhead)]);
        }

        if (MaxBehind <= TimeSpan.Zero || MaxBehind > MaxBehindLimit)
        {
            yield return new ValidationResult($"Aggregator:EventTime:MaxBehind {MaxBehind} must be positive and at most {MaxBehindLimit.TotalDays} days.", ["EventTime." + nameof(MaxBehind)]);
        }
    }
}
