using System.Globalization;

namespace StreamMonitor.Contracts;

/// <summary>Kind of a window result; the first component of its key.</summary>
public enum WindowKind
{
    /// <summary><see cref="LatencyWindowResult"/>.</summary>
    Latency,
    /// <summary><see cref="DriftWindowResult"/>.</summary>
    Drift,
    /// <summary><see cref="QualityWindowResult"/>.</summary>
    Quality,
}

/// <summary>
/// Identity of a window result: (kind, model, version, window start, window size). It is the Kafka key on the
/// compacted result topics, so a re-emitted result overwrites the earlier one instead of duplicating it.
/// </summary>
public readonly record struct WindowKey(WindowKind Kind, string ModelName, string ModelVersion, long WindowStartMs, long WindowSizeMs)
{
    private const char Separator = '|';

    /// <summary>Canonical text form, e.g. <c>latency|fraud|3|1700000000000|60000</c>.</summary>
    public override string ToString() => string.Join(
        Separator,
        Kind.ToString().ToLowerInvariant(),
        ModelName,
        ModelVersion,
        WindowStartMs.ToString(CultureInfo.InvariantCulture),
        WindowSizeMs.ToString(CultureInfo.InvariantCulture));

    /// <summary>Sets the model, version and window of <paramref name="result"/> to this key's; returns it.</summary>
    public T Stamp<T>(T result)
        where T : IWindowResult
    {
        ArgumentNullException.ThrowIfNull(result);
        result.ModelName = ModelName;
        result.ModelVersion = ModelVersion;
        result.WindowStartMs = WindowStartMs;
        result.WindowSizeMs = WindowSizeMs;
        return result;
    }

    /// <summary>Parses the canonical text form; model names must not contain '|'.</summary>
    public static WindowKey Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Split(Separator);
        if (parts.Length != 5 || !Enum.TryParse<WindowKind>(parts[0], ignoreCase: true, out var kind)
            || !long.TryParse(parts[3], NumberStyles.Integer, CultureInfo.InvariantCulture, out var start)
            || !long.TryParse(parts[4], NumberStyles.Integer, CultureInfo.InvariantCulture, out var size))
        {
            throw new FormatException($"Not a window key: '{text}'.");
        }

        return new WindowKey(kind, parts[1], parts[2], start, size);
    }
}
