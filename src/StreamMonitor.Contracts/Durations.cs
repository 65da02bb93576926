using System.ComponentModel;
using System.Globalization;

namespace StreamMonitor.Contracts;

/// <summary>
/// The one duration notation of StreamMonitor, for options, SLO files, CLI flags, window labels, the InfluxDB
/// <c>window</c> tag and alert texts. Grammar: a non-negative number, whole or decimal, directly followed by one unit
/// of <c>ms</c>, <c>s</c>, <c>m</c>, <c>h</c>, <c>d</c> or <c>w</c> (7 days): <c>500ms</c>, <c>10s</c>, <c>1.5h</c>,
/// <c>7d</c>, <c>2w</c>; surrounding white space is ignored, the value must be a whole number of milliseconds. The
/// canonical form (<see cref="Format(TimeSpan)"/>) is the largest unit of d, h, m, s, ms that divides the value:
/// <c>1d</c> (not <c>24h</c>), <c>90s</c>, <c>1500ms</c>; weeks are read but never written, so a tag stays in days.
/// </summary>
public static class Durations
{
    /// <summary>What the notation looks like, for error messages.</summary>
    public const string Notation = "a number and a unit of ms, s, m, h, d or w, e.g. 500ms, 10s, 1.5h, 7d, 2w";

    private const long Day = 86_400_000;

    private static readonly (string Unit, long Ms)[] Units = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", Day), ("w", 7 * Day)];

    /// <summary>Parses the notation into milliseconds (up to <see cref="long.MaxValue"/>); false on anything else.</summary>
    public static bool TryParseMilliseconds(string? text, out long milliseconds)
    {
        milliseconds = 0;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var span = text.AsSpan().Trim();
        var numberEnd = 0;
        while (numberEnd < span.Length && (char.IsAsciiDigit(span[numberEnd]) || span[numberEnd] == '.'))
        {
            numberEnd++;
        }

        var factor = 0L;
        foreach (var (unit, unitMs) in Units)
        {
            if (span[numberEnd..].SequenceEqual(unit))
            {
                factor = unitMs;
            }
        }

        if (numberEnd == 0 || factor == 0 || !char.IsAsciiDigit(span[0])
            || !decimal.TryParse(span[..numberEnd], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount))
        {
            return false;
        }

        // decimal holds 28 digits: the product is exact, so overflow and a fraction of a millisecond are both caught.
        var ms = amount * factor;
        if (ms > long.MaxValue || decimal.Truncate(ms) != ms)
        {
            return false;
        }

        milliseconds = (long)ms;
        return true;
    }

    /// <summary>Parses the notation into a <see cref="TimeSpan"/>; false on anything else or beyond <see cref="TimeSpan.MaxValue"/>.</summary>
    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = default;
        if (!TryParseMilliseconds(text, out var ms) || ms > (long)TimeSpan.MaxValue.TotalMilliseconds)
        {
            return false;
        }

        value = TimeSpan.FromMilliseconds(ms);
        return true;
    }

    /// <summary>Parses or throws <see cref="FormatException"/> naming the bad text.</summary>
    public static TimeSpan Parse(string? text) => TryParse(text, out var value) ? value : throw NotADuration(text);

    /// <summary>Parses into milliseconds or throws <see cref="FormatException"/> naming the bad text.</summary>
    public static long ParseMilliseconds(string? text) => TryParseMilliseconds(text, out var ms) ? ms : throw NotADuration(text);

    /// <summary>The canonical form of a whole number of milliseconds: 1d, 6h, 5m, 90s, 1500ms, 0s.</summary>
    public static string FormatMilliseconds(long milliseconds)
    {
        foreach (var (unit, ms) in new[] { ("d", Day), ("h", 3_600_000L), ("m", 60_000L), ("s", 1000L) })
        {
            if (milliseconds % ms == 0)
            {
                return milliseconds == 0 ? "0s" : (milliseconds / ms).ToString(CultureInfo.InvariantCulture) + unit;
            }
        }

        return milliseconds.ToString(CultureInfo.InvariantCulture) + "ms";
    }

    /// <summary>The canonical form of <paramref name="value"/> (whole milliseconds; a sub-millisecond rest is dropped).</summary>
    public static string Format(TimeSpan value) => FormatMilliseconds((long)value.TotalMilliseconds);

    /// <summary>
    /// <paramref name="value"/> as a message shows it: the canonical form where that is exact, else the .NET form
    /// ("00:00:00.0001"), so a value with a fraction of a millisecond is never shown as another one.
    /// </summary>
    public static string Display(TimeSpan value) =>
        IsWholeMilliseconds(value) ? Format(value) : value.ToString("c", CultureInfo.InvariantCulture);

    /// <summary>Whether <paramref name="value"/> has no fraction of a millisecond, so the canonical form is exact.</summary>
    public static bool IsWholeMilliseconds(TimeSpan value) => value.Ticks % TimeSpan.TicksPerMillisecond == 0;

    /// <summary>
    /// Lets configuration binding read the notation into <see cref="TimeSpan"/> options ("5s" as well as "00:00:05"):
    /// the binder asks <see cref="TypeDescriptor"/> for a converter. Call once at start-up; idempotent.
    /// </summary>
    public static void RegisterTimeSpanConverter()
    {
        if (TypeDescriptor.GetConverter(typeof(TimeSpan)) is not DurationConverter)
        {
            TypeDescriptor.AddAttributes(typeof(TimeSpan), new TypeConverterAttribute(typeof(DurationConverter)));
        }
    }

    private static FormatException NotADuration(string? text) => new($"'{text}' is not a duration: use {Notation}.");
}

/// <summary>
/// <see cref="TimeSpan"/> converter that reads <see cref="Durations"/> notation first and the .NET form
/// ("00:00:05") otherwise; installed by <see cref="Durations.RegisterTimeSpanConverter"/>.
/// </summary>
public sealed class DurationConverter : TimeSpanConverter
{
    /// <inheritdoc />
    public override object? ConvertFrom(ITypeDescriptorContext? context, CultureInfo? culture, object value) =>
        value is string text && Durations.TryParse(text, out var span) ? span : base.ConvertFrom(context, culture, value);
}
