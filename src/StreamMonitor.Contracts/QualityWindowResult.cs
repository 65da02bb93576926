using Avro.Reflect;

namespace StreamMonitor.Contracts;

/// <summary>Model quality over one window of prediction event time (schemas/quality-window-result.avsc).</summary>
public sealed class QualityWindowResult : IWindowResult
{
    [AvroField("model_name")] public string ModelName { get; set; } = "";
    [AvroField("model_version")] public string ModelVersion { get; set; } = "";
    [AvroField("window_start_ms")] public long WindowStartMs { get; set; }
    [AvroField("window_size_ms")] public long WindowSizeMs { get; set; }
    [AvroField("revision")] public long Revision { get; set; }
    [AvroField("predictions")] public long Predictions { get; set; }
    [AvroField("labeled")] public long Labeled { get; set; }
    [AvroField("expired_unlabeled")] public long ExpiredUnlabeled { get; set; }
    [AvroField("label_coverage")] public double LabelCoverage { get; set; }
    [AvroField("correct")] public long Correct { get; set; }
    [AvroField("label_delay_p50_ms")] public long? LabelDelayP50Ms { get; set; }
    [AvroField("label_delay_p90_ms")] public long? LabelDelayP90Ms { get; set; }
    [AvroField("label_delay_p99_ms")] public long? LabelDelayP99Ms { get; set; }
    [AvroField("accuracy")] public double? Accuracy { get; set; }
    [AvroField("precision")] public double? Precision { get; set; }
    [AvroField("recall")] public double? Recall { get; set; }
    [AvroField("f1")] public double? F1 { get; set; }
    [AvroField("log_loss")] public double? LogLoss { get; set; }
    [AvroField("brier")] public double? Brier { get; set; }
    [AvroField("roc_auc")] public double? RocAuc { get; set; }
    [AvroField("mae")] public double? Mae { get; set; }
    [AvroField("rmse")] public double? Rmse { get; set; }
    [AvroField("final")] public bool Final { get; set; }

    /// <summary>The compacted-topic key of this result.</summary>
    public WindowKey Key => new(WindowKind.Quality, ModelName, ModelVersion, WindowStartMs, WindowSizeMs);
}
