using StreamMonitor.Analytics.Latency;
using StreamMonitor.Contracts;

namespace StreamMonitor.Reports;

/// <summary>
/// End-to-end latency of a set of windows of one model version. <c>Exact</c> is true when the percentiles come from
/// merging the windows' HdrHistograms (relative error at most 1%); false when a window lacked its histogram and the
/// figures are the worst window's percentiles (an upper bound, not a percentile of the union).
/// </summary>
public sealed record LatencyRollup(string Model, string Version, long Count, long Errors, int Windows, double P50Ms, double P95Ms, double P99Ms, double P999Ms, double MaxMs, bool Exact)
{
    /// <summary>Rolls up the latency windows of one size inside a range, per model and version.</summary>
    public static IReadOnlyList<LatencyRollup> Of(IEnumerable<LatencyWindowResult> windows)
    {
        ArgumentNullException.ThrowIfNull(windows);
        return windows
            .GroupBy(w => (w.ModelName, w.ModelVersion))
            .OrderBy(g => g.Key.ModelName, StringComparer.Ordinal).ThenBy(g => g.Key.ModelVersion, StringComparer.Ordinal)
            .Select(g => Roll(g.Key.ModelName, g.Key.ModelVersion, g.ToList()))
            .ToList();
    }

    private static LatencyRollup Roll(string model, string version, List<LatencyWindowResult> windows)
    {
        var count = windows.Sum(w => w.Count);
        var errors = windows.Sum(w => w.ErrorCount);
        var merged = TryMerge(windows);
        if (merged is { Count: > 0 })
        {
            // Nearest rank on the merged HdrHistogram: the aggregator's own estimator and error bound.
            var p = merged.Percentiles([50_000, 95_000, 99_000, 99_900]);
            return new LatencyRollup(model, version, count, errors, windows.Count, p[0] / 1000.0, p[1] / 1000.0, p[2] / 1000.0, p[3] / 1000.0, merged.Max / 1000.0, Exact: true);
        }

        var e2e = windows.Select(w => w.Stages.FirstOrDefault(s => s.Stage == "e2e")).OfType<StageLatency>().ToList();
        if (e2e.Count == 0)
        {
            return new LatencyRollup(model, version, count, errors, windows.Count, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, Exact: false);
        }

        return new LatencyRollup(model, version, count, errors, windows.Count,
            e2e.Max(s => s.P50Us) / 1000.0,
            e2e.Max(s => s.P95Us) / 1000.0,
            e2e.Max(s => s.P99Us) / 1000.0,
            e2e.Max(s => s.P999Us) / 1000.0,
            e2e.Max(s => s.MaxUs) / 1000.0,
            Exact: false);
    }

    /// <summary>Merges the windows' end-to-end histograms (the aggregator's <see cref="LatencyHistogram"/> encoding); null if one is missing or unreadable.</summary>
    private static LatencyHistogram? TryMerge(List<LatencyWindowResult> windows)
    {
        var merged = new LatencyHistogram();
        foreach (var w in windows)
        {
            if (w.E2eHistogram is not { Length: > 0 } bytes)
            {
                return null;
            }

            try
            {
                using var reader = new BinaryReader(new MemoryStream(bytes, writable: false));
                merged.MergeFrom(LatencyHistogram.ReadEmbedded(reader));
            }
            catch (Exception ex) when (ex is EndOfStreamException or InvalidDataException or ArgumentException or IndexOutOfRangeException or InvalidOperationException)
            {
                return null;
            }
        }

        return merged;
    }
}
