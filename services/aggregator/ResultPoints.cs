using StreamMonitor.Contracts;
using StreamMonitor.Influx;

namespace StreamMonitor.Aggregator;

/// <summary>The points of one result: those built and rendered, and those line protocol cannot carry.</summary>
public sealed class ProjectedPoints
{
    private readonly List<LinePoint> _points = [];
    private readonly List<string> _rejected = [];

    /// <summary>Points ready to write (each rendered once already, so the writer cannot throw on them).</summary>
    public IReadOnlyList<LinePoint> Points => _points;

    /// <summary>Points InfluxDB's line protocol cannot carry: "measurement: why" (a tag with a tab, a time past 2262...).</summary>
    public IReadOnlyList<string> Rejected => _rejected;

    /// <summary>Builds and renders one point; a point that cannot be is recorded in <see cref="Rejected"/> instead of thrown.</summary>
    internal void Add(string measurement, Func<string, LinePoint> build)
    {
        try
        {
            var point = build(measurement);
            point.ToLineProtocol();
            _points.Add(point);
        }
        catch (Exception ex) when (ex is LineProtocolException or ArgumentException or InvalidOperationException or OverflowException or FormatException)
        {
            // Names and values come from input records: a bad one costs its point, never the projection.
            _rejected.Add($"{measurement}: {ex.Message}");
        }
    }
}

/// <summary>
/// InfluxDB points of window results (measurements in the common brief). Time = window start; tags model, version,
/// window (size label); so a re-emitted result overwrites its points. Null or non-finite values are omitted. Each point
/// is built on its own (<see cref="ProjectedPoints"/>): one that line protocol cannot carry does not take the others
/// of its result with it, and nothing here throws on a result's content.
/// </summary>
public static class ResultPoints
{
    /// <summary>Points of a latency result: latency_window, one latency_stage per stage, one latency_sli per threshold.</summary>
    public static ProjectedPoints Of(LatencyWindowResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var points = new ProjectedPoints();
        Add(points, result.Key, "latency_window", p => p
            .Field("count", result.Count)
            .Field("error_count", result.ErrorCount)
            .Field("error_rate", Finite(result.ErrorRate))
            .Field("throughput_per_s", Finite(result.ThroughputPerSecond))
            .Field("batch_size_mean", Finite(result.BatchSizeMean))
            .Field("batch_size_max", (long)result.BatchSizeMax)
            .Field("late_count", result.LateCount));
        foreach (var stage in result.Stages.Where(s => s.Count > 0))
        {
            Add(points, result.Key, "latency_stage", p => p.Tag("stage", stage.Stage)
                .Field("count", stage.Count)
                .Field("mean_us", Finite(stage.MeanUs))
                .Field("p50_us", stage.P50Us)
                .Field("p90_us", stage.P90Us)
                .Field("p95_us", stage.P95Us)
                .Field("p99_us", stage.P99Us)
                .Field("p999_us", stage.P999Us)
                .Field("max_us", stage.MaxUs));
        }

        foreach (var sli in result.LatencySlis)
        {
            Add(points, result.Key, "latency_sli", p => p.Tag("threshold_us", sli.ThresholdUs.ToString(System.Globalization.CultureInfo.InvariantCulture))
                .Field("good", sli.Good)
                .Field("total", sli.Total));
        }

        return points;
    }

    /// <summary>Points of a drift result: drift_window and one drift_feature per column.</summary>
    public static ProjectedPoints Of(DriftWindowResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var points = new ProjectedPoints();
        Add(points, result.Key, "drift_window", p => p
            .Field("count", result.Count)
            .Field("drifted_share", Finite(result.DriftedShare))
            .Field("dataset_drift", result.DatasetDrift ? 1L : 0L));
        foreach (var feature in result.Features)
        {
            Add(points, result.Key, "drift_feature", p => p.Tag("feature", feature.Feature).Tag("kind", feature.Kind.ToString().ToLowerInvariant())
                .Field("count", feature.Count)
                .Field("null_rate", Finite(feature.NullRate))
                .Field("out_of_range_rate", Finite(feature.OutOfRangeRate))
                .Field("unseen_category_rate", Finite(feature.UnseenCategoryRate))
                .Field("psi", Finite(feature.Psi))
                .Field("js_distance", Finite(feature.JsDistance))
                .Field("ks_statistic", Finite(feature.KsStatistic))
                .Field("ks_p_value", Finite(feature.KsPValue))
                .Field("wasserstein_normed", Finite(feature.WassersteinNormed))
                .Field("chi_square", Finite(feature.ChiSquare))
                .Field("chi_square_p_value", Finite(feature.ChiSquarePValue))
                .Field("drift_score", Finite(feature.DriftScore))
                .Field("threshold", Finite(feature.Threshold))
                .Field("drifted", feature.Drifted ? 1L : 0L));
        }

        return points;
    }

    /// <summary>Point of a quality result: quality_window (a re-emitted revision overwrites it).</summary>
    public static ProjectedPoints Of(QualityWindowResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var points = new ProjectedPoints();
        Add(points, result.Key, "quality_window", p => p
            .Field("predictions", result.Predictions)
            .Field("labeled", result.Labeled)
            .Field("label_coverage", Finite(result.LabelCoverage))
            .Field("expired_unlabeled", result.ExpiredUnlabeled)
            .Field("correct", result.Correct)
            .Field("accuracy", Finite(result.Accuracy))
            .Field("precision", Finite(result.Precision))
            .Field("recall", Finite(result.Recall))
            .Field("f1", Finite(result.F1))
            .Field("log_loss", Finite(result.LogLoss))
            .Field("brier", Finite(result.Brier))
            .Field("roc_auc", Finite(result.RocAuc))
            .Field("mae", Finite(result.Mae))
            .Field("rmse", Finite(result.Rmse))
            .Field("label_delay_p50_ms", result.LabelDelayP50Ms)
            .Field("label_delay_p90_ms", result.LabelDelayP90Ms)
            .Field("label_delay_p99_ms", result.LabelDelayP99Ms)
            .Field("revision", result.Revision));
        return points;
    }

    /// <summary>Adds a point of <paramref name="window"/>'s result: its common tags and time, then <paramref name="fields"/>.</summary>
    private static void Add(ProjectedPoints points, WindowKey window, string measurement, Func<LinePoint, LinePoint> fields) =>
        points.Add(measurement, m => fields(LinePoint.Measurement(m).Tag("model", window.ModelName).Tag("version", window.ModelVersion).Tag("window", Durations.FormatMilliseconds(window.WindowSizeMs)))
            .TimestampMs(window.WindowStartMs));

    private static double? Finite(double? value) => value is { } v && double.IsFinite(v) ? v : null;
}
