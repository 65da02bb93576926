using Avro.Reflect;

namespace StreamMonitor.Contracts;

#pragma warning disable CA1707 // Symbols mirror the Avro enum exactly; Avro.Reflect maps by name.
/// <summary>Kind of a monitored column.</summary>
public enum FeatureKind { NUMERIC, CATEGORICAL, PREDICTION }
#pragma warning restore CA1707

/// <summary>Drift of one model version over one event-time window (schemas/drift-window-result.avsc).</summary>
public sealed class DriftWindowResult : IWindowResult
{
    [AvroField("model_name")] public string ModelName { get; set; } = "";
    [AvroField("model_version")] public string ModelVersion { get; set; } = "";
    [AvroField("window_start_ms")] public long WindowStartMs { get; set; }
    [AvroField("window_size_ms")] public long WindowSizeMs { get; set; }
    [AvroField("count")] public long Count { get; set; }
    [AvroField("reference_id")] public string ReferenceId { get; set; } = "";
    [AvroField("features")] public List<FeatureDrift> Features { get; set; } = [];
    [AvroField("drifted_share")] public double DriftedShare { get; set; }
    [AvroField("dataset_drift")] public bool DatasetDrift { get; set; }

    /// <summary>The compacted-topic key of this result.</summary>
    public WindowKey Key => new(WindowKind.Drift, ModelName, ModelVersion, WindowStartMs, WindowSizeMs);
}

/// <summary>Drift statistics of one feature (or of the prediction score) in one window.</summary>
public sealed class FeatureDrift
{
    [AvroField("feature")] public string Feature { get; set; } = "";
    [AvroField("kind")] public FeatureKind Kind { get; set; }
    [AvroField("count")] public long Count { get; set; }
    [AvroField("null_rate")] public double NullRate { get; set; }
    [AvroField("out_of_range_rate")] public double? OutOfRangeRate { get; set; }
    [AvroField("unseen_category_rate")] public double? UnseenCategoryRate { get; set; }
    [AvroField("psi")] public double? Psi { get; set; }
    [AvroField("js_distance")] public double? JsDistance { get; set; }
    [AvroField("ks_statistic")] public double? KsStatistic { get; set; }
    [AvroField("ks_p_value")] public double? KsPValue { get; set; }
    [AvroField("wasserstein_normed")] public double? WassersteinNormed { get; set; }
    [AvroField("chi_square")] public double? ChiSquare { get; set; }
    [AvroField("chi_square_p_value")] public double? ChiSquarePValue { get; set; }
    [AvroField("drift_method")] public string DriftMethod { get; set; } = "";
    [AvroField("drift_score")] public double DriftScore { get; set; }
    [AvroField("threshold")] public double Threshold { get; set; }
    [AvroField("drifted")] public bool Drifted { get; set; }
    [AvroField("discrete")] public bool Discrete { get; set; }
    [AvroField("ks_resolution")] public double? KsResolution { get; set; }
    [AvroField("wasserstein_resolution")] public double? WassersteinResolution { get; set; }
    [AvroField("ks_p_value_floored")] public bool KsPValueFloored { get; set; }
    [AvroField("chi_square_p_value_floored")] public bool ChiSquarePValueFloored { get; set; }
}
