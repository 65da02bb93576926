namespace StreamMonitor.Contracts.Validation;

/// <summary>
/// Which event times a service accepts (configuration sections "Scorer:EventTime", "Aggregator:EventTime",
/// "Alerter:EventTime"): the settings of <see cref="EventTimePolicy"/>. A record whose event time is further ahead of or
/// behind its Kafka timestamp is rejected as EVENT_TIME_IMPLAUSIBLE before it can move a stream time: one record
/// 100 years ahead would otherwise make every later record late, for good.
/// </summary>
public sealed class EventTimeOptions
{
    /// <summary>How far an event time may be ahead of its record timestamp (producer and broker clock skew); beyond 30 d the check no longer protects the stream times.</summary>
    [DurationRange("0s", "30d")]
    public TimeSpan MaxAhead { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How far an event time may be behind its record timestamp (backfills, replays of old ranges); at most about the 1970..9999 range the policy also enforces.</summary>
    [DurationRange("1ms", "36500d")]
    public TimeSpan MaxBehind { get; set; } = TimeSpan.FromDays(3650);

    /// <summary>The policy these settings describe (call after validation).</summary>
    public EventTimePolicy ToPolicy() => new(MaxAhead, MaxBehind);
}
