using System.Globalization;

namespace StreamMonitor.Contracts;

/// <summary>
/// An alert's value and threshold as people read them, with units: a burn rate as "14.4x", a latency in µs as
/// "24.9 ms", a drift score as a plain number. One formatter, so alert texts, the demo summary and postmortems agree.
/// </summary>
public static class AlertValues
{
    /// <summary>The alert's observed value (a burn-rate alert's long-window burn rate); empty when it has none.</summary>
    public static string Value(Alert alert)
    {
        ArgumentNullException.ThrowIfNull(alert);
        return Format(alert.Kind, alert.Kind == AlertKind.SLO_BURN_RATE ? alert.LongBurnRate ?? alert.Value : alert.Value);
    }

    /// <summary>The alert's threshold; empty when it has none.</summary>
    public static string Threshold(Alert alert)
    {
        ArgumentNullException.ThrowIfNull(alert);
        return Format(alert.Kind, alert.Threshold);
    }

    /// <summary>A value of an alert of <paramref name="kind"/>, with its unit.</summary>
    public static string Format(AlertKind kind, double? value) => value is not { } v || double.IsNaN(v)
        ? ""
        : kind switch
        {
            AlertKind.SLO_BURN_RATE => v.ToString("0.##", CultureInfo.InvariantCulture) + "x",
            AlertKind.LATENCY_REGRESSION => Latency(v),
            _ => v.ToString("0.####", CultureInfo.InvariantCulture),
        };

    /// <summary>A latency given in microseconds, in the largest unit that keeps it at least 1: "850 us", "24.9 ms", "1.25 s".</summary>
    public static string Latency(double microseconds) => Math.Abs(microseconds) switch
    {
        >= 1_000_000 => (microseconds / 1_000_000).ToString("0.###", CultureInfo.InvariantCulture) + " s",
        >= 1_000 => (microseconds / 1_000).ToString("0.##", CultureInfo.InvariantCulture) + " ms",
        _ => microseconds.ToString("0", CultureInfo.InvariantCulture) + " us",
    };
}
