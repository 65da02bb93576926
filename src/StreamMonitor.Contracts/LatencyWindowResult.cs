using Avro.Reflect;

namespace StreamMonitor.Contracts;

/// <summary>Traffic and latency of one model version over one event-time window (schemas/latency-window-result.avsc).</summary>
public sealed class LatencyWindowResult : IWindowResult
{
    [AvroField("model_name")] public string ModelName { get; set; } = "";
    [AvroField("model_version")] public string ModelVersion { get; set; } = "";
    [AvroField("window_start_ms")] public long WindowStartMs { get; set; }
    [AvroField("window_size_ms")] public long WindowSizeMs { get; set; }
    [AvroField("count")] public long Count { get; set; }
    [AvroField("error_count")] public long ErrorCount { get; set; }
    [AvroField("error_rate")] public double ErrorRate { get; set; }
    [AvroField("throughput_per_s")] public double ThroughputPerSecond { get; set; }
    [AvroField("batch_size_mean")] public double BatchSizeMean { get; set; }
    [AvroField("batch_size_max")] public int BatchSizeMax { get; set; }
    [AvroField("stages")] public List<StageLatency> Stages { get; set; } = [];
    [AvroField("latency_slis")] public List<LatencySli> LatencySlis { get; set; } = [];
    [AvroField("relative_error")] public double RelativeError { get; set; }
    [AvroField("late_count")] public long LateCount { get; set; }
    [AvroField("partitions")] public int Partitions { get; set; }
    [AvroField("e2e_histogram")] public byte[]? E2eHistogram { get; set; }

    /// <summary>The compacted-topic key of this result.</summary>
    public WindowKey Key => new(WindowKind.Latency, ModelName, ModelVersion, WindowStartMs, WindowSizeMs);
}

/// <summary>Percentiles of one timing stage, in microseconds.</summary>
public sealed class StageLatency
{
    [AvroField("stage")] public string Stage { get; set; } = "";
    [AvroField("count")] public long Count { get; set; }
    [AvroField("mean_us")] public double MeanUs { get; set; }
    [AvroField("p50_us")] public long P50Us { get; set; }
    [AvroField("p90_us")] public long P90Us { get; set; }
    [AvroField("p95_us")] public long P95Us { get; set; }
    [AvroField("p99_us")] public long P99Us { get; set; }
    [AvroField("p999_us")] public long P999Us { get; set; }
    [AvroField("max_us")] public long MaxUs { get; set; }
    [AvroField("clamped_count")] public long ClampedCount { get; set; }
    [AvroField("unbounded_percentiles")] public List<string> UnboundedPercentiles { get; set; } = [];
}

/// <summary>Good/total counts of a latency SLI at one threshold.</summary>
public sealed class LatencySli
{
    [AvroField("threshold_us")] public long ThresholdUs { get; set; }
    [AvroField("good")] public long Good { get; set; }
    [AvroField("total")] public long Total { get; set; }
}
