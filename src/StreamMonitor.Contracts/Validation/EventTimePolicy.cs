namespace StreamMonitor.Contracts.Validation;

/// <summary>
/// Which event times are plausible. Judged against the record's Kafka timestamp (part of the log, so a replay judges
/// the same), never against the wall clock. A µs or ns timestamp sent as ms lands centuries ahead; seconds sent as
/// ms land decades behind; both are refused before they can move a stream time. Records without a Kafka timestamp
/// are judged only against the absolute range.
/// </summary>
public sealed class EventTimePolicy
{
    /// <summary>Earliest event time accepted whatever the record timestamp: 1970-01-01T00:00:00Z.</summary>
    public const long MinEventTimeMs = 0;

    /// <summary>Latest event time accepted whatever the record timestamp: 9999-12-31T23:59:59.999Z.</summary>
    public const long MaxEventTimeMs = 253_402_300_799_999;

    /// <summary>The defaults: 1 hour ahead, 3650 days behind.</summary>
    public static EventTimePolicy Default { get; } = new(TimeSpan.FromHours(1), TimeSpan.FromDays(3650));

    /// <summary>Creates a policy.</summary>
    /// <param name="maxAhead">How far an event time may be ahead of its record timestamp (clock skew between producers and brokers).</param>
    /// <param name="maxBehind">How far an event time may be behind its record timestamp (backfills, late labels, replays of old ranges).</param>
    public EventTimePolicy(TimeSpan maxAhead, TimeSpan maxBehind)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxAhead, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBehind, TimeSpan.Zero);
        MaxAheadMs = (long)maxAhead.TotalMilliseconds;
        MaxBehindMs = (long)maxBehind.TotalMilliseconds;
    }

    /// <summary>How far ahead of the record timestamp an event time may be, in ms.</summary>
    public long MaxAheadMs { get; }

    /// <summary>How far behind the record timestamp an event time may be, in ms.</summary>
    public long MaxBehindMs { get; }

    /// <summary>Null when <paramref name="eventTimeMs"/> is plausible for a record stamped <paramref name="recordTimestampMs"/> (null: none), else the rejection.</summary>
    public Rejection? Check(string field, long eventTimeMs, long? recordTimestampMs)
    {
        if (eventTimeMs is < MinEventTimeMs or > MaxEventTimeMs)
        {
            return new Rejection(ReasonCodes.EventTimeImplausible, $"{field} {eventTimeMs} is outside 1970-01-01 .. 9999-12-31 (ms since the epoch expected).", eventTimeMs);
        }

        if (recordTimestampMs is not { } timestamp || timestamp is < MinEventTimeMs or > MaxEventTimeMs)
        {
            return null;
        }

        // Both are within [0, 2.6e14], so the differences cannot overflow.
        if (eventTimeMs - timestamp > MaxAheadMs)
        {
            return new Rejection(ReasonCodes.EventTimeImplausible, $"{field} {eventTimeMs} is {eventTimeMs - timestamp} ms ahead of the record timestamp {timestamp} (at most {MaxAheadMs} allowed).", eventTimeMs);
        }

        if (timestamp - eventTimeMs > MaxBehindMs)
        {
            return new Rejection(ReasonCodes.EventTimeImplausible, $"{field} {eventTimeMs} is {timestamp - eventTimeMs} ms behind the record timestamp {timestamp} (at most {MaxBehindMs} allowed).", eventTimeMs);
        }

        return null;
    }
}
