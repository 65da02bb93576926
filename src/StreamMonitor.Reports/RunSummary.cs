using StreamMonitor.Contracts;

namespace StreamMonitor.Reports;

/// <summary>
/// A feature that drifted in a range: the score of its most drifted window (farthest past the threshold, whichever
/// side the method drifts on: a p-value below, a distance above) and how many windows flagged it.
/// </summary>
public sealed record DriftedFeature(string Model, string Feature, string Method, double WorstScore, double Threshold, int DriftedWindows, int Windows);

/// <summary>Realized quality of the labeled predictions whose windows lie in a range.</summary>
public sealed record QualityRollup(string Model, string Version, long Predictions, long Labeled, long Correct, long ExpiredUnlabeled)
{
    /// <summary>Correct over labeled; null without labels.</summary>
    public double? Accuracy => Labeled == 0 ? null : (double)Correct / Labeled;

    /// <summary>Labeled over predictions.</summary>
    public double LabelCoverage => Predictions == 0 ? 0 : (double)Labeled / Predictions;
}

/// <summary>What happened in one range (a demo phase): latency, drift and quality.</summary>
public sealed record RangeSummary(EventTimeRange Range, IReadOnlyList<LatencyRollup> Latency, IReadOnlyList<DriftedFeature> Drifted, IReadOnlyList<QualityRollup> Quality);

/// <summary>
/// The summary of a run over the result topics: per range (phase) the latency percentiles per model version, the
/// drifted features with their scores and the realized accuracy; and every alert incident with the event times it
/// fired and resolved. Computed from the compacted results only, so a replay's summary equals the live one.
/// </summary>
public sealed record RunSummary(IReadOnlyList<RangeSummary> Ranges, IReadOnlyList<AlertIncident> Alerts, long LatencyWindowMs, long DriftWindowMs, long QualityWindowMs)
{
    /// <summary>Summarises <paramref name="log"/> over the given ranges, using the largest window size of each kind.</summary>
    public static RunSummary Create(ResultLog log, IReadOnlyList<EventTimeRange> ranges)
    {
        ArgumentNullException.ThrowIfNull(log);
        ArgumentNullException.ThrowIfNull(ranges);
        var latencySize = log.WindowSizes(WindowKind.Latency).LastOrDefault();
        var driftSize = log.WindowSizes(WindowKind.Drift).LastOrDefault();
        var qualitySize = log.WindowSizes(WindowKind.Quality).LastOrDefault();
        var summaries = ranges.Select(range => new RangeSummary(
            range,
            LatencyRollup.Of(log.Latency.Values.Where(w => w.WindowSizeMs == latencySize && range.ContainsWindow(w.WindowStartMs))),
            DriftedIn(log.Drift.Values.Where(w => w.WindowSizeMs == driftSize && range.ContainsWindow(w.WindowStartMs)).ToList()),
            QualityIn(log.Quality.Values.Where(w => w.WindowSizeMs == qualitySize && range.ContainsWindow(w.WindowStartMs)))))
            .ToList();
        return new RunSummary(summaries, log.Incidents(), latencySize, driftSize, qualitySize);
    }

    private static List<DriftedFeature> DriftedIn(List<DriftWindowResult> windows) => windows
        .SelectMany(w => w.Features.Select(f => (w.ModelName, Feature: f)))
        .GroupBy(x => (x.ModelName, x.Feature.Feature))
        .Where(g => g.Any(x => x.Feature.Drifted))
        .Select(g => new DriftedFeature(
            g.Key.ModelName,
            g.Key.Feature,
            g.Select(x => x.Feature.DriftMethod).FirstOrDefault(m => m.Length > 0) ?? "",
            g.Where(x => x.Feature.Drifted).MaxBy(x => Math.Abs(x.Feature.DriftScore - x.Feature.Threshold)).Feature.DriftScore,
            g.Max(x => x.Feature.Threshold),
            g.Count(x => x.Feature.Drifted),
            g.Count()))
        .OrderByDescending(d => d.DriftedWindows).ThenByDescending(d => Math.Abs(d.WorstScore - d.Threshold))
        .ToList();

    private static List<QualityRollup> QualityIn(IEnumerable<QualityWindowResult> windows) => windows
        .GroupBy(w => (w.ModelName, w.ModelVersion))
        .OrderBy(g => g.Key.ModelName, StringComparer.Ordinal).ThenBy(g => g.Key.ModelVersion, StringComparer.Ordinal)
        .Select(g => new QualityRollup(g.Key.ModelName, g.Key.ModelVersion, g.Sum(w => w.Predictions), g.Sum(w => w.Labeled), g.Sum(w => w.Correct), g.Sum(w => w.ExpiredUnlabeled)))
        .ToList();
}
