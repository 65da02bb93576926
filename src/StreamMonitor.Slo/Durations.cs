using System.Globalization;

namespace StreamMonitor.Slo;

/// <summary>Parses and prints the short duration notation of SLO files and options: 30s, 5m, 1h, 7d, 2w.</summary>
public static class Durations
{
    /// <summary>Parses "90s", "5m", "1h", "30d", "2w" (also "500ms"); false on anything else.</summary>
    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        text = text.Trim();
        var unitStart = 0;
        while (unitStart < text.Length && char.IsAsciiDigit(text[unitStart]))
        {
            unitStart++;
        }

        if (unitStart == 0 || !long.TryParse(text.AsSpan(0, unitStart), NumberStyles.None, CultureInfo.InvariantCulture, out var amount))
        {
            return false;
        }

        TimeSpan? unit = text[unitStart..] switch
        {
            "ms" => TimeSpan.FromMilliseconds(1),
            "s" => TimeSpan.FromSeconds(1),
            "m" => TimeSpan.FromMinutes(1),
            "h" => TimeSpan.FromHours(1),
            "d" => TimeSpan.FromDays(1),
            "w" => TimeSpan.FromDays(7),
            _ => null,
        };
        if (unit is null || amount > TimeSpan.MaxValue.Ticks / unit.Value.Ticks)
        {
            return false;
        }

        value = TimeSpan.FromTicks(amount * unit.Value.Ticks);
        return true;
    }

    /// <summary>Parses or throws <see cref="FormatException"/> naming the bad text.</summary>
    public static TimeSpan Parse(string? text) =>
        TryParse(text, out var value) ? value : throw new FormatException($"'{text}' is not a duration (e.g. 30s, 5m, 1h, 30d).");

    /// <summary>The shortest exact form: 5m, 1h, 30d, 90s.</summary>
    public static string Format(TimeSpan value)
    {
        var ms = (long)value.TotalMilliseconds;
        if (ms != 0 && ms % 86_400_000 == 0)
        {
            return (ms / 86_400_000).ToString(CultureInfo.InvariantCulture) + "d";
        }

        if (ms != 0 && ms % 3_600_000 == 0)
        {
            return (ms / 3_600_000).ToString(CultureInfo.InvariantCulture) + "h";
        }

        if (ms != 0 && ms % 60_000 == 0)
        {
            return (ms / 60_000).ToString(CultureInfo.InvariantCulture) + "m";
        }

        return ms % 1000 == 0
            ? (ms / 1000).ToString(CultureInfo.InvariantCulture) + "s"
            : ms.ToString(CultureInfo.InvariantCulture) + "ms";
    }
}
