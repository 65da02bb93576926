using HdrHistogram;
using HdrHistogram.Utilities;
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
        if (merged is not null && merged.TotalCount > 0)
        {
            return new LatencyRollup(model, version, count, errors, windows.Count,
                merged.GetValueAtPercentile(50) / 1000.0,
                merged.GetValueAtPercentile(95) / 1000.0,
                merged.GetValueAtPercentile(99) / 1000.0,
                merged.GetValueAtPercentile(99.9) / 1000.0,
                merged.GetMaxValue() / 1000.0,
                Exact: true);
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

    private static HistogramBase? TryMerge(List<LatencyWindowResult> windows)
    {
        HistogramBase? merged = null;
        foreach (var w in windows)
        {
            if (w.E2eHistogram is not { Length: > 0 } bytes)
            {
                return null;
            }

            HistogramBase decoded;
            try
            {
                decoded = HistogramEncoding.DecodeFromCompressedByteBuffer(ByteBuffer.Allocate(bytes), long.MaxValue / 4);
            }
            catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or IndexOutOfRangeException or NotSupportedException or IOException)
            {
                return null;
            }

            if (merged is null)
            {
                merged = decoded;
            }
            else
            {
                merged.Add(decoded);
            }
        }

        return merged;
    }
}
