using StreamMonitor.Contracts;

namespace StreamMonitor.Slo;

/// <summary>
/// The SLO period: rolling (e.g. 30d, 28d, 7d ending at the evaluation time) or the calendar month containing the
/// evaluation time in a named time zone (IANA id). Both are computed from event time only.
/// </summary>
public sealed class SloPeriod
{
    private SloPeriod(TimeSpan? rolling, TimeZoneInfo? zone)
    {
        Rolling = rolling;
        Zone = zone;
    }

    /// <summary>Length of a rolling period, or null for a calendar month.</summary>
    public TimeSpan? Rolling { get; }

    /// <summary>Time zone of a calendar-month period, or null for a rolling one.</summary>
    public TimeZoneInfo? Zone { get; }

    /// <summary>Nominal length used to scale tiers: the rolling length, or 30 days for a calendar month.</summary>
    public TimeSpan Nominal => Rolling ?? TimeSpan.FromDays(30);

    /// <summary>Longest possible length (31 days for a calendar month): bounds what the evaluator must keep.</summary>
    public TimeSpan Longest => Rolling ?? TimeSpan.FromDays(31);

    /// <summary>A rolling period.</summary>
    public static SloPeriod RollingOf(TimeSpan length) => new(length, null);

    /// <summary>The calendar month in a time zone.</summary>
    public static SloPeriod CalendarMonth(TimeZoneInfo zone) => new(null, zone);

    /// <summary>
    /// Start (inclusive, epoch ms) of the period evaluated at <paramref name="evaluationMs"/> (an exclusive end):
    /// for a calendar month, the month of the last instant before it, so an evaluation at midnight of the first
    /// still reports the month that just ended.
    /// </summary>
    public long StartMs(long evaluationMs) => Rolling is { } length
        ? evaluationMs - (long)length.TotalMilliseconds
        : MonthStartMs(evaluationMs - 1, 0);

    /// <summary>Length in ms of the period evaluated at <paramref name="evaluationMs"/> (the whole month for a calendar month).</summary>
    public long LengthMs(long evaluationMs) => Rolling is { } length
        ? (long)length.TotalMilliseconds
        : MonthStartMs(evaluationMs - 1, 1) - MonthStartMs(evaluationMs - 1, 0);

    /// <summary>Human form, as in SloStatus.period: "rolling 30d" or "calendar month Europe/Paris".</summary>
    public override string ToString() => Rolling is { } length ? "rolling " + Durations.Format(length) : "calendar month " + Zone!.Id;

    private long MonthStartMs(long instantMs, int addMonths)
    {
        var local = TimeZoneInfo.ConvertTime(DateTimeOffset.FromUnixTimeMilliseconds(instantMs), Zone!);
        var monthStart = new DateTime(local.Year, local.Month, 1, 0, 0, 0, DateTimeKind.Unspecified).AddMonths(addMonths);

        // Midnight can fall in a DST gap in a few zones; the month then starts at the first valid local instant.
        while (Zone!.IsInvalidTime(monthStart))
        {
            monthStart = monthStart.AddMinutes(15);
        }

        var offset = Zone.GetUtcOffset(monthStart);
        return new DateTimeOffset(monthStart, offset).ToUnixTimeMilliseconds();
    }
}
