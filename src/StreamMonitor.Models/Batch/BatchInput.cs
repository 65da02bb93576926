using StreamMonitor.Contracts;
using StreamMonitor.Contracts.Validation;
using StreamMonitor.Models.Inference;

namespace StreamMonitor.Models.Batch;

/// <summary>
/// One input of a batch run: a decoded and valid event, a valid event whose features were decoded straight into an
/// input row (<see cref="HasRow"/>: <see cref="Row"/>), or why the record was refused.
/// </summary>
/// <param name="Event">The valid event, or null when the record did not decode, failed validation, or came as a row.</param>
/// <param name="ErrorCode">Reason code (<see cref="ReasonCodes"/>) when <paramref name="Event"/> is null.</param>
/// <param name="ErrorDetail">What was wrong.</param>
/// <param name="FallbackId">
/// The event id when it is valid, else a valid id for the record: its coordinates (topic/partition/offset, as
/// <see cref="DeadLetter.KeyOf"/> writes them) or its file and row; never a lossy decode of its key.
/// </param>
/// <param name="RecordTimeMs">Record timestamp (Kafka) or 0.</param>
/// <param name="ModelName">For a refused record that decoded: the model name it carries (possibly invalid); for a row: its model; else null.</param>
/// <param name="EventTimeMs">For a refused record that decoded with a plausible event time, or a row: that time; else null (no ERROR prediction is written for a refused record without it).</param>
public readonly record struct BatchInput(FeatureEvent? Event, string? ErrorCode, string? ErrorDetail, string FallbackId, long RecordTimeMs, string? ModelName = null, long? EventTimeMs = null)
{
    /// <summary>When the record was read (Stopwatch ticks; 0: when the scorer received it), so decoding counts in its decode stage.</summary>
    public long ConsumeTicks { get; init; }

    /// <summary>For an input that came as a row: its entity id (valid or empty); else null.</summary>
    public string? EntityId { get; init; }

    /// <summary>For an input that came as a row of a float32 input: its values, in input column order.</summary>
    public ReadOnlyMemory<float> Row { get; init; }

    /// <summary>For an input that came as a row of a float64 input: its values, in input column order.</summary>
    public ReadOnlyMemory<double> RowDouble { get; init; }

    /// <summary>Whether the input is a valid event of <see cref="ModelName"/> whose features are already in <see cref="Row"/> or <see cref="RowDouble"/>.</summary>
    public bool HasRow => !Row.IsEmpty || !RowDouble.IsEmpty;

    /// <summary>A valid event of <paramref name="modelName"/> decoded by <see cref="FeatureRowDecoder"/> into the float32 <paramref name="row"/>.</summary>
    public static BatchInput Decoded(in DecodedRow decoded, string modelName, long recordTimeMs, ReadOnlyMemory<float> row) =>
        new(null, null, null, decoded.EventId, recordTimeMs, modelName, decoded.EventTimeMs) { EntityId = decoded.EntityId, Row = row };

    /// <summary>A valid event of <paramref name="modelName"/> decoded by <see cref="FeatureRowDecoder"/> into the float64 <paramref name="row"/>.</summary>
    public static BatchInput Decoded(in DecodedRow decoded, string modelName, long recordTimeMs, ReadOnlyMemory<double> row) =>
        new(null, null, null, decoded.EventId, recordTimeMs, modelName, decoded.EventTimeMs) { EntityId = decoded.EntityId, RowDouble = row };

    /// <summary>
    /// Validates a decoded event with <paramref name="policy"/> (identifiers; event time against
    /// <paramref name="recordTimestampMs"/>, or only the absolute range when null): the event, or the refused record.
    /// </summary>
    public static BatchInput Validate(RecordPolicy policy, FeatureEvent featureEvent, long? recordTimestampMs, string fallbackId, long recordTimeMs)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(featureEvent);
        return policy.Validate(featureEvent, recordTimestampMs).TryGet(out _, out var rejection)
            ? new BatchInput(featureEvent, null, null, featureEvent.EventId, recordTimeMs)
            : Refused(rejection.ReasonCode, rejection.Detail, Identifiers.IsValid(featureEvent.EventId) ? featureEvent.EventId : fallbackId, recordTimeMs, featureEvent.ModelName,
                rejection.ReasonCode == ReasonCodes.EventTimeImplausible ? null : featureEvent.EventTimeMs);
    }

    /// <summary>A refused record.</summary>
    public static BatchInput Refused(string reasonCode, string detail, string fallbackId, long recordTimeMs, string? modelName = null, long? eventTimeMs = null) =>
        new(null, reasonCode, detail, fallbackId, recordTimeMs, modelName, eventTimeMs);
}

/// <summary>Where batch predictions go.</summary>
public interface IPredictionSink : IDisposable
{
    /// <summary>Accepts one prediction.</summary>
    void Write(Prediction prediction);

    /// <summary>Makes every written prediction durable (flush, delivery acknowledged); throws if some were lost.</summary>
    void Complete();
}

/// <summary>Progress of a batch run.</summary>
/// <param name="Rows">Inputs handled.</param>
/// <param name="Errors">Error predictions among them.</param>
/// <param name="Elapsed">Time since the start.</param>
public readonly record struct BatchProgress(long Rows, long Errors, TimeSpan Elapsed);

/// <summary>Totals of a batch run.</summary>
/// <param name="Rows">Inputs handled (one prediction each).</param>
/// <param name="Scored">OK predictions.</param>
/// <param name="Errors">Error predictions.</param>
/// <param name="Batches">ONNX Runtime runs.</param>
/// <param name="Elapsed">Wall time of the run.</param>
/// <param name="InferenceTime">Time inside ONNX Runtime.</param>
public sealed record BatchSummary(long Rows, long Scored, long Errors, long Batches, TimeSpan Elapsed, TimeSpan InferenceTime)
{
    /// <summary>Rows per second over the whole run.</summary>
    public double RowsPerSecond => Elapsed.TotalSeconds > 0 ? Rows / Elapsed.TotalSeconds : 0;
}
