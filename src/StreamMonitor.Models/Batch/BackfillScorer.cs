using System.Diagnostics;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.Validation;
using StreamMonitor.Models.Inference;

namespace StreamMonitor.Models.Batch;

/// <summary>One input of a batch run: a decoded and valid event, or why the record was refused.</summary>
/// <param name="Event">The valid event, or null when the record did not decode or failed validation.</param>
/// <param name="ErrorCode">Reason code (<see cref="ReasonCodes"/>) when <paramref name="Event"/> is null.</param>
/// <param name="ErrorDetail">What was wrong.</param>
/// <param name="FallbackId">
/// The event id when it is valid, else a valid id for the record: its coordinates (topic/partition/offset, as
/// <see cref="DeadLetter.KeyOf"/> writes them) or its file and row; never a lossy decode of its key.
/// </param>
/// <param name="RecordTimeMs">Record timestamp (Kafka) or 0.</param>
/// <param name="ModelName">For a refused record that decoded: the model name it carries (possibly invalid); else null.</param>
/// <param name="EventTimeMs">For a refused record that decoded with a plausible event time: that time; else null (no ERROR prediction is written for it).</param>
public readonly record struct BatchInput(FeatureEvent? Event, string? ErrorCode, string? ErrorDetail, string FallbackId, long RecordTimeMs, string? ModelName = null, long? EventTimeMs = null)
{
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

/// <summary>
/// Batch mode: scores a finite stream of inputs in full batches (the last one partial, reason DRAIN) through the
/// same pinned-buffer session and validator as the streaming scorer, one prediction per input. ERROR predictions
/// follow the streaming scorer's rules: every identifier in them is valid; one for an event of the run's model
/// carries its name and version; one for another model, an invalid model name or an undecodable record goes to the
/// <see cref="Identifiers.UnknownModelBucket"/> model and version with the name (escaped) in error_reason.
/// </summary>
public sealed class BackfillScorer(ModelSession session, FeatureValidator validator, string instanceId)
{
    /// <summary>Scores every input and writes one prediction each to <paramref name="sink"/>.</summary>
    public async Task<BatchSummary> RunAsync(IAsyncEnumerable<BatchInput> inputs, IPredictionSink sink, IProgress<BatchProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(sink);
        var manifest = session.Model.Manifest;
        var batchSize = session.MaxBatchRows;
        var pending = new (FeatureEvent Event, long ConsumeTicks, long RecordTimeMs)[batchSize];
        var started = Stopwatch.GetTimestamp();
        long rows = 0, errors = 0, batches = 0, inferenceTicks = 0, lastReport = started;
        var count = 0;

        void Flush(DispatchReason reason)
        {
            if (count == 0)
            {
                return;
            }

            var start = Stopwatch.GetTimestamp();
            session.Run(count);
            var end = Stopwatch.GetTimestamp();
            inferenceTicks += end - start;
            batches++;
            for (var i = 0; i < count; i++)
            {
                var (featureEvent, consumeTicks, recordTimeMs) = pending[i];
                var prediction = NewPrediction(featureEvent, null, recordTimeMs, PredictionStatus.OK, null);
                OutputReader.Apply(manifest, session.OutputRow(i), prediction);
                prediction.Timing.BatchId = batches;
                prediction.Timing.BatchSize = count;
                prediction.Timing.DispatchReason = reason;
                prediction.Timing.BatchWaitUs = Micros(start - consumeTicks);
                prediction.Timing.InferenceUs = Micros(end - start);
                var handOff = Stopwatch.GetTimestamp();
                prediction.Timing.EncodeUs = Micros(handOff - end);
                prediction.Timing.E2eUs = Micros(handOff - consumeTicks);
                prediction.Timing.PublishedAtMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                sink.Write(prediction);
            }

            count = 0;
        }

        await foreach (var input in inputs.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            var now = Stopwatch.GetTimestamp();
            rows++;
            if (input.Event is null)
            {
                // Without a plausible event time there is no honest time to place an ERROR prediction at (an invented
                // one would move the aggregator's stream time past the backfill's real events): counted only.
                errors++;
                if (input.EventTimeMs is { } eventTimeMs)
                {
                    sink.Write(Refused(null, input.FallbackId, eventTimeMs, input.RecordTimeMs, input.ModelName, $"{input.ErrorCode}: {input.ErrorDetail}"));
                }
            }
            else if (!string.Equals(input.Event.ModelName, manifest.Name, StringComparison.Ordinal))
            {
                errors++;
                sink.Write(Refused(input.Event, input.FallbackId, input.Event.EventTimeMs, input.RecordTimeMs, input.Event.ModelName, $"{ReasonCodes.UnknownModel}: not the model of this run ({manifest.Name})"));
            }
            else if (validator.Fill(input.Event, session, count) is { } invalid)
            {
                errors++;
                sink.Write(NewPrediction(input.Event, null, input.RecordTimeMs, PredictionStatus.ERROR, invalid.ToString()));
            }
            else
            {
                pending[count++] = (input.Event, now, input.RecordTimeMs);
                if (count == batchSize)
                {
                    Flush(DispatchReason.FULL);
                }
            }

            if (progress is not null && now - lastReport > Stopwatch.Frequency / 4)
            {
                lastReport = now;
                progress.Report(new BatchProgress(rows, errors, Stopwatch.GetElapsedTime(started)));
            }
        }

        Flush(DispatchReason.DRAIN);
        sink.Complete();
        var elapsed = Stopwatch.GetElapsedTime(started);
        progress?.Report(new BatchProgress(rows, errors, elapsed));
        return new BatchSummary(rows, rows - errors, errors, batches, elapsed, TimeSpan.FromSeconds((double)inferenceTicks / Stopwatch.Frequency));
    }

    /// <summary>The ERROR prediction of a refused input at its (plausible) event time, under the run's model or the unknown-model bucket.</summary>
    private Prediction Refused(FeatureEvent? featureEvent, string id, long eventTimeMs, long recordTimeMs, string? modelName, string error)
    {
        var prediction = NewPrediction(featureEvent, id, recordTimeMs, PredictionStatus.ERROR, error);
        prediction.EventId = id;
        prediction.EventTimeMs = eventTimeMs;

        if (!string.Equals(modelName, session.Model.Manifest.Name, StringComparison.Ordinal))
        {
            prediction.ModelName = Identifiers.UnknownModelBucket;
            prediction.ModelVersion = Identifiers.UnknownModelBucket;
            prediction.ModelHash = "";
            prediction.ErrorReason = modelName is null ? error : $"{error} (model_name '{Identifiers.Printable(modelName)}')";
        }

        return prediction;
    }

    private Prediction NewPrediction(FeatureEvent? featureEvent, string? fallbackId, long recordTimeMs, PredictionStatus status, string? error)
    {
        var manifest = session.Model.Manifest;
        return new Prediction
        {
            EventId = featureEvent?.EventId ?? fallbackId ?? "",
            ModelName = manifest.Name,
            ModelVersion = manifest.Version,
            ModelHash = session.Model.Sha256,
            EntityId = featureEvent?.EntityId ?? "",
            EventTimeMs = featureEvent?.EventTimeMs ?? recordTimeMs,
            Status = status,
            ErrorReason = error,
            OutputKind = manifest.OutputKind,
            ExecutionProvider = status == PredictionStatus.OK ? session.ExecutionProvider : "",
            ScorerInstance = instanceId,
            Timing = new PredictionTiming
            {
                BrokerTimeMs = recordTimeMs,
                ConsumedAtMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
                DispatchReason = DispatchReason.NONE,
            },
        };
    }

    private static long Micros(long ticks) => ticks * 1_000_000 / Stopwatch.Frequency;
}
