using Avro.Reflect;

namespace StreamMonitor.Contracts;

/// <summary>Outcome of scoring one event.</summary>
#pragma warning disable CA1707 // Symbols mirror the Avro enum exactly; Avro.Reflect maps by name.
public enum PredictionStatus { OK, ERROR }

/// <summary>What a model's output means.</summary>
public enum OutputKind { BINARY_PROBABILITY, MULTICLASS_PROBABILITIES, REGRESSION }

/// <summary>Why a micro-batch left the batcher.</summary>
public enum DispatchReason { FULL, DEADLINE, DRAIN, NONE }
#pragma warning restore CA1707

/// <summary>The scorer's answer to one <see cref="FeatureEvent"/> (schemas/prediction.avsc).</summary>
public sealed class Prediction
{
    [AvroField("event_id")] public string EventId { get; set; } = "";
    [AvroField("model_name")] public string ModelName { get; set; } = "";
    [AvroField("model_version")] public string ModelVersion { get; set; } = "";
    [AvroField("model_hash")] public string ModelHash { get; set; } = "";
    [AvroField("entity_id")] public string EntityId { get; set; } = "";
    [AvroField("event_time_ms")] public long EventTimeMs { get; set; }
    [AvroField("status")] public PredictionStatus Status { get; set; }
    [AvroField("error_reason")] public string? ErrorReason { get; set; }
    [AvroField("output_kind")] public OutputKind OutputKind { get; set; }
    [AvroField("score")] public double? Score { get; set; }
    [AvroField("predicted_class")] public int? PredictedClass { get; set; }
    [AvroField("probabilities")] public List<double> Probabilities { get; set; } = [];
    [AvroField("timing")] public PredictionTiming Timing { get; set; } = new();
    [AvroField("execution_provider")] public string ExecutionProvider { get; set; } = "";
    [AvroField("scorer_instance")] public string ScorerInstance { get; set; } = "";
    [AvroField("shadow")] public bool Shadow { get; set; }
}

/// <summary>Per-stage timing of one prediction; durations in microseconds from a monotonic clock.</summary>
public sealed class PredictionTiming
{
    /// <summary>Stage names as they appear in <see cref="StageLatency.Stage"/>, in pipeline order.</summary>
    public static readonly IReadOnlyList<string> StageNames = ["kafka_queue", "decode", "batch_wait", "inference", "encode", "e2e"];

    [AvroField("broker_time_ms")] public long BrokerTimeMs { get; set; }
    [AvroField("consumed_at_ms")] public long ConsumedAtMs { get; set; }
    [AvroField("kafka_queue_us")] public long KafkaQueueUs { get; set; }
    [AvroField("decode_us")] public long DecodeUs { get; set; }
    [AvroField("batch_wait_us")] public long BatchWaitUs { get; set; }
    [AvroField("batch_id")] public long BatchId { get; set; }
    [AvroField("batch_size")] public int BatchSize { get; set; }
    [AvroField("dispatch_reason")] public DispatchReason DispatchReason { get; set; }
    [AvroField("inference_us")] public long InferenceUs { get; set; }
    [AvroField("encode_us")] public long EncodeUs { get; set; }
    [AvroField("e2e_us")] public long E2eUs { get; set; }
    [AvroField("published_at_ms")] public long PublishedAtMs { get; set; }

    /// <summary>Duration of a stage by its name in <see cref="StageNames"/>.</summary>
    public long StageMicros(int stageIndex) => stageIndex switch
    {
        0 => KafkaQueueUs,
        1 => DecodeUs,
        2 => BatchWaitUs,
        3 => InferenceUs,
        4 => EncodeUs,
        5 => E2eUs,
        _ => throw new ArgumentOutOfRangeException(nameof(stageIndex)),
    };
}
