using System.Globalization;

namespace StreamMonitor.Contracts.Validation;

/// <summary>
/// The one decode-and-validate policy for every input record type: bytes in, a valid event or a
/// <see cref="Rejection"/> out, never an exception. Services call it once, at the source, and hand only valid events
/// to their topologies; a rejection becomes exactly one dead letter. Deterministic: it reads the record's bytes and
/// its Kafka timestamp, never the wall clock, so a replay rejects the same records.
/// </summary>
public sealed class RecordPolicy
{
    /// <summary>Longest window accepted on a result topic (a year): larger sizes are corrupt, not configuration.</summary>
    public const long MaxWindowSizeMs = 366L * 24 * 3600 * 1000;

    private readonly EventCodec _codec;

    /// <summary>Creates the policy.</summary>
    public RecordPolicy(EventCodec codec, EventTimePolicy? eventTime = null)
    {
        ArgumentNullException.ThrowIfNull(codec);
        _codec = codec;
        EventTime = eventTime ?? EventTimePolicy.Default;
    }

    /// <summary>The event-time plausibility rule.</summary>
    public EventTimePolicy EventTime { get; }

    /// <summary>The codec records are decoded with.</summary>
    public EventCodec Codec => _codec;

    /// <summary>Decodes and validates a feature event.</summary>
    public Validated<FeatureEvent> Features(byte[]? value, long? recordTimestampMs) =>
        Decode<FeatureEvent>(value, out var e) is { } r ? Validated<FeatureEvent>.Rejected(r) : Validate(e!, recordTimestampMs);

    /// <summary>Validates a feature event decoded elsewhere (the scorer's reflection-free decoder).</summary>
    public Validated<FeatureEvent> Validate(FeatureEvent featureEvent, long? recordTimestampMs)
    {
        ArgumentNullException.ThrowIfNull(featureEvent);
        var rejection = Identifiers.Check("event_id", featureEvent.EventId)
                        ?? Identifiers.CheckModel("model_name", featureEvent.ModelName)
                        ?? Identifiers.Check("entity_id", featureEvent.EntityId, required: false)
                        ?? EventTime.Check("event_time_ms", featureEvent.EventTimeMs, recordTimestampMs);
        return Result(featureEvent, rejection, featureEvent.EventTimeMs);
    }

    /// <summary>
    /// Decodes and validates a prediction. An ERROR prediction whose model name or version is not a valid identifier
    /// (the scorer's answer to an unknown model) is kept and moved to the <see cref="Identifiers.UnknownModelBucket"/>
    /// model and version, so it counts as an error there instead of becoming a second dead letter.
    /// </summary>
    public Validated<Prediction> Predictions(byte[]? value, long? recordTimestampMs)
    {
        if (Decode<Prediction>(value, out var p) is { } decodeError)
        {
            return Validated<Prediction>.Rejected(decodeError);
        }

        var prediction = p!;
        if (prediction.Status == PredictionStatus.ERROR
            && (!Identifiers.IsValidModel(prediction.ModelName) || !Identifiers.IsValidModel(prediction.ModelVersion)))
        {
            prediction.ModelName = Identifiers.UnknownModelBucket;
            prediction.ModelVersion = Identifiers.UnknownModelBucket;
        }

        var rejection = Identifiers.Check("event_id", prediction.EventId)
                        ?? Identifiers.CheckModel("model_name", prediction.ModelName)
                        ?? Identifiers.CheckModel("model_version", prediction.ModelVersion)
                        ?? Identifiers.Check("entity_id", prediction.EntityId, required: false)
                        ?? EventTime.Check("event_time_ms", prediction.EventTimeMs, recordTimestampMs)
                        ?? CheckTiming(prediction.Timing)
                        ?? CheckOutputs(prediction);
        return Result(prediction, rejection, prediction.EventTimeMs);
    }

    /// <summary>Decodes and validates a label.</summary>
    public Validated<Label> Labels(byte[]? value, long? recordTimestampMs)
    {
        if (Decode<Label>(value, out var l) is { } decodeError)
        {
            return Validated<Label>.Rejected(decodeError);
        }

        var label = l!;
        var rejection = Identifiers.Check("event_id", label.EventId)
                        ?? Identifiers.CheckModel("model_name", label.ModelName, required: false)
                        ?? (double.IsFinite(label.Value) ? null : new Rejection(ReasonCodes.InvalidValue, $"label {label.Value.ToString(CultureInfo.InvariantCulture)} is not finite."))
                        ?? EventTime.Check("label_time_ms", label.LabelTimeMs, recordTimestampMs);
        return Result(label, rejection, label.LabelTimeMs);
    }

    /// <summary>Decodes and validates a latency window result.</summary>
    public Validated<LatencyWindowResult> LatencyResults(byte[]? value, long? recordTimestampMs)
    {
        if (Decode<LatencyWindowResult>(value, out var r) is { } decodeError)
        {
            return Validated<LatencyWindowResult>.Rejected(decodeError);
        }

        var result = r!;
        var rejection = CheckWindow(result.ModelName, result.ModelVersion, result.WindowStartMs, result.WindowSizeMs, recordTimestampMs)
                        ?? NonNegative("count", result.Count) ?? NonNegative("error_count", result.ErrorCount)
                        ?? (result.ErrorCount > result.Count ? Invalid($"error_count {result.ErrorCount} exceeds count {result.Count}.") : null)
                        ?? Rate("error_rate", result.ErrorRate)
                        ?? result.LatencySlis.Select(s => NonNegative("sli good", s.Good) ?? NonNegative("sli total", s.Total)
                                                          ?? (s.Good > s.Total ? Invalid($"SLI good {s.Good} exceeds total {s.Total}.") : null)).FirstOrDefault(x => x is not null);
        return Result(result, rejection, result.WindowStartMs);
    }

    /// <summary>Decodes and validates a drift window result.</summary>
    public Validated<DriftWindowResult> DriftResults(byte[]? value, long? recordTimestampMs)
    {
        if (Decode<DriftWindowResult>(value, out var r) is { } decodeError)
        {
            return Validated<DriftWindowResult>.Rejected(decodeError);
        }

        var result = r!;
        var rejection = CheckWindow(result.ModelName, result.ModelVersion, result.WindowStartMs, result.WindowSizeMs, recordTimestampMs)
                        ?? NonNegative("count", result.Count)
                        ?? Rate("drifted_share", result.DriftedShare)
                        ?? result.Features.Select(f => Identifiers.Check("feature", f.Feature)
                                                       ?? (double.IsFinite(f.DriftScore) ? null : Invalid($"drift_score of {Identifiers.Printable(f.Feature)} is not finite."))
                                                       ?? (double.IsFinite(f.Threshold) ? null : Invalid($"threshold of {Identifiers.Printable(f.Feature)} is not finite."))).FirstOrDefault(x => x is not null);
        return Result(result, rejection, result.WindowStartMs);
    }

    /// <summary>Decodes and validates a quality window result.</summary>
    public Validated<QualityWindowResult> QualityResults(byte[]? value, long? recordTimestampMs)
    {
        if (Decode<QualityWindowResult>(value, out var r) is { } decodeError)
        {
            return Validated<QualityWindowResult>.Rejected(decodeError);
        }

        var result = r!;
        var rejection = CheckWindow(result.ModelName, result.ModelVersion, result.WindowStartMs, result.WindowSizeMs, recordTimestampMs)
                        ?? NonNegative("predictions", result.Predictions) ?? NonNegative("labeled", result.Labeled)
                        ?? NonNegative("correct", result.Correct) ?? NonNegative("revision", result.Revision)
                        ?? (result.Correct > result.Labeled ? Invalid($"correct {result.Correct} exceeds labeled {result.Labeled}.") : null)
                        ?? Rate("label_coverage", result.LabelCoverage);
        return Result(result, rejection, result.WindowStartMs);
    }

    private static Validated<T> Result<T>(T value, Rejection? rejection, long eventTimeMs)
        where T : class =>
        rejection is null ? Validated<T>.Valid(value) : Validated<T>.Rejected(rejection with { EventTimeMs = eventTimeMs });

    private Rejection? Decode<T>(byte[]? value, out T? decoded)
        where T : class
    {
        decoded = null;
        if (value is null || value.Length == 0)
        {
            return new Rejection(ReasonCodes.EmptyRecord, $"The record has no value; a {typeof(T).Name} was expected.");
        }

        if (_codec.TryDeserialize(value, out decoded, out var error) && decoded is not null)
        {
            return null;
        }

        return error is null ? new Rejection(ReasonCodes.DecodeCorruptBody, $"Not a {typeof(T).Name}.") : Rejection.Of(error);
    }

    private Rejection? CheckWindow(string model, string version, long startMs, long sizeMs, long? recordTimestampMs) =>
        Identifiers.CheckModel("model_name", model)
        ?? Identifiers.CheckModel("model_version", version)
        ?? (sizeMs is <= 0 or > MaxWindowSizeMs ? Invalid($"window_size_ms {sizeMs} is outside 1 ms .. 366 days.") : null)
        ?? EventTime.Check("window_start_ms", startMs, recordTimestampMs)
        ?? EventTime.Check("window end", WindowTime.End(startMs, sizeMs), null);

    private static Rejection? CheckTiming(PredictionTiming timing)
    {
        for (var stage = 0; stage < PredictionTiming.StageNames.Count; stage++)
        {
            if (timing.StageMicros(stage) < 0)
            {
                return Invalid($"timing {PredictionTiming.StageNames[stage]} is negative ({timing.StageMicros(stage)} us).");
            }
        }

        return timing.BatchSize < 0 ? Invalid($"batch_size {timing.BatchSize} is negative.") : null;
    }

    private static Rejection? CheckOutputs(Prediction prediction)
    {
        if (prediction.Score is { } score && !double.IsFinite(score))
        {
            return Invalid("score is not finite.");
        }

        foreach (var probability in prediction.Probabilities)
        {
            if (!double.IsFinite(probability))
            {
                return Invalid("a class probability is not finite.");
            }
        }

        return prediction.PredictedClass is < 0 ? Invalid($"predicted_class {prediction.PredictedClass} is negative.") : null;
    }

    private static Rejection? NonNegative(string field, long value) => value < 0 ? Invalid($"{field} {value} is negative.") : null;

    private static Rejection? Rate(string field, double value) =>
        double.IsFinite(value) && value is >= 0 and <= 1 ? null : Invalid($"{field} {value.ToString(CultureInfo.InvariantCulture)} is not in [0, 1].");

    private static Rejection Invalid(string detail) => new(ReasonCodes.InvalidValue, detail);
}
