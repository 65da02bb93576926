using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.Validation;
using StreamMonitor.Models.Inference;

namespace StreamMonitor.Models.Batch;

/// <summary>
/// Batch mode: scores a finite stream of inputs in full batches (the last one partial, reason DRAIN) through the
/// same pinned-buffer session, validator and <see cref="BatchScorer"/> as the streaming scorer, one prediction per
/// input. ERROR predictions follow the streaming scorer's rules: every identifier in them is valid; one for an event
/// of the run's model carries its name and version; one for another model, an invalid model name or an undecodable
/// record goes to the <see cref="Identifiers.UnknownModelBucket"/> model and version with the name (escaped) in
/// error_reason.
/// <para>
/// Three threads overlap, so ONNX Runtime never waits for Kafka: a reader (consume, decode, validate: the input
/// enumeration), the scorer (fill the pinned input rows, run, read the outputs) and a publisher (encode and hand to
/// the sink). Between them sit bounded queues of whole chunks (one signal per chunk, not per row): the scorer may run
/// ahead of the publisher by <see cref="BatchesInFlight"/> batches.
/// </para>
/// </summary>
/// <param name="session">The model's session; its <see cref="ModelSession.MaxBatchRows"/> is the batch size.</param>
/// <param name="validator">Validates and fills an event's features.</param>
/// <param name="instanceId">Written into every prediction.</param>
/// <param name="batchesInFlight">Scored batches that may wait for the publisher (and input chunks for the scorer); at least 1.</param>
public sealed class BackfillScorer(ModelSession session, FeatureValidator validator, string instanceId, int batchesInFlight = 2)
{
    /// <summary>Scored batches that may wait for the publisher.</summary>
    public int BatchesInFlight { get; } = batchesInFlight >= 1 ? batchesInFlight : throw new ArgumentOutOfRangeException(nameof(batchesInFlight), batchesInFlight, "At least 1.");

    /// <summary>Scores every input and writes one prediction each to <paramref name="sink"/>.</summary>
    public async Task<BatchSummary> RunAsync(IAsyncEnumerable<BatchInput> inputs, IPredictionSink sink, IProgress<BatchProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(sink);
        var started = PredictionClock.Now;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var chunks = new BlockingCollection<BatchInput[]>(BatchesInFlight + 1);
        using var scored = new BlockingCollection<Outgoing[]>(BatchesInFlight);
        // Dedicated threads: each stage blocks on its queue for the whole run, which would hold thread-pool threads.
        // Named (15 characters at most, the OS limit) so profilers and the bench's per-thread CPU split see the stages.
        var reader = Task.Factory.StartNew(() => Named("backfill reader", () => ReadAsync(inputs, chunks, stop)), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
        var publisher = Task.Factory.StartNew(() => Named("backfill sink", () => Publish(scored, sink, stop)), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        var scorer = Task.Factory.StartNew(() => Named("backfill scorer", () => Score(chunks, scored, progress, started, stop)), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        try
        {
            await Task.WhenAll(reader, scorer, publisher).ConfigureAwait(false);
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            // A stage failed and cancelled the others, which then ended with OperationCanceledException: the failed
            // stage's own exception is the one to report.
            var cause = new[] { reader, scorer, publisher }.Where(t => t.IsFaulted).SelectMany(t => t.Exception!.InnerExceptions)
                .FirstOrDefault(e => e is not OperationCanceledException);
            if (cause is not null)
            {
                ExceptionDispatchInfo.Throw(cause);
            }

            throw;
        }

        var (rows, errors, batches, inferenceTicks) = scorer.Result;
        sink.Complete();
        var elapsed = TimeSpan.FromSeconds((double)(PredictionClock.Now - started) / System.Diagnostics.Stopwatch.Frequency);
        progress?.Report(new BatchProgress(rows, errors, elapsed));
        return new BatchSummary(rows, rows - errors, errors, batches, elapsed, TimeSpan.FromSeconds((double)inferenceTicks / System.Diagnostics.Stopwatch.Frequency));
    }

    /// <summary>Names the current (dedicated, long-running) thread and runs <paramref name="stage"/> on it.</summary>
    private static T Named<T>(string name, Func<T> stage)
    {
        Thread.CurrentThread.Name = name;
        return stage();
    }

    /// <summary>Names the current (dedicated, long-running) thread and runs <paramref name="stage"/> on it.</summary>
    private static void Named(string name, Action stage)
    {
        Thread.CurrentThread.Name = name;
        stage();
    }

    /// <summary>The reader: enumerates the inputs into chunks of a batch's size.</summary>
    private async Task ReadAsync(IAsyncEnumerable<BatchInput> inputs, BlockingCollection<BatchInput[]> chunks, CancellationTokenSource stop)
    {
        try
        {
            var chunk = new List<BatchInput>(session.MaxBatchRows);
            await foreach (var input in inputs.WithCancellation(stop.Token).ConfigureAwait(false))
            {
                chunk.Add(input.ConsumeTicks == 0 ? input with { ConsumeTicks = PredictionClock.Now } : input);
                if (chunk.Count == session.MaxBatchRows)
                {
                    chunks.Add([.. chunk], stop.Token);
                    chunk.Clear();
                }
            }

            if (chunk.Count > 0)
            {
                chunks.Add([.. chunk], stop.Token);
            }

            chunks.CompleteAdding();
        }
        catch
        {
            await stop.CancelAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>The scorer: fills, runs and completes batches; refused inputs become ERROR predictions at once.</summary>
    private (long Rows, long Errors, long Batches, long InferenceTicks) Score(BlockingCollection<BatchInput[]> chunks, BlockingCollection<Outgoing[]> scored,
        IProgress<BatchProgress>? progress, long started, CancellationTokenSource stop)
    {
        try
        {
            var manifest = session.Model.Manifest;
            var batchSize = session.MaxBatchRows;
            var pending = new (Prediction Prediction, RowClock Clock)[batchSize];
            var outgoing = new List<Outgoing>(batchSize);
            long rows = 0, errors = 0, batches = 0, inferenceTicks = 0, lastReport = started;
            var count = 0;

            void Flush(DispatchReason reason)
            {
                if (count > 0)
                {
                    var run = BatchScorer.Run(session, count, ++batches, reason);
                    inferenceTicks += run.EndTicks - run.StartTicks;
                    for (var i = 0; i < count; i++)
                    {
                        var (prediction, clock) = pending[i];
                        BatchScorer.Complete(session, run, i, clock, prediction);
                        outgoing.Add(new Outgoing(prediction, clock.ConsumeTicks, run.EndTicks));
                    }

                    count = 0;
                }

                if (outgoing.Count > 0)
                {
                    scored.Add([.. outgoing], stop.Token);
                    outgoing.Clear();
                }
            }

            foreach (var chunk in chunks.GetConsumingEnumerable(stop.Token))
            {
                foreach (var input in chunk)
                {
                    rows++;
                    if (Admit(input, manifest.Name, count) is { } refused)
                    {
                        errors++;
                        if (refused.Prediction is { } error)
                        {
                            outgoing.Add(new Outgoing(error, input.ConsumeTicks, null));
                        }

                        continue;
                    }

                    var prediction = input.Event is { } featureEvent
                        ? NewPrediction(featureEvent, null, input.RecordTimeMs, PredictionStatus.OK, null)
                        : NewPrediction(input.FallbackId, input.EntityId ?? "", input.EventTimeMs ?? input.RecordTimeMs, input.RecordTimeMs, PredictionStatus.OK, null);
                    pending[count++] = (prediction, new RowClock(input.ConsumeTicks, PredictionClock.Now));
                    if (count == batchSize)
                    {
                        Flush(DispatchReason.FULL);
                    }
                }

                var now = PredictionClock.Now;
                if (progress is not null && now - lastReport > System.Diagnostics.Stopwatch.Frequency / 4)
                {
                    lastReport = now;
                    progress.Report(new BatchProgress(rows, errors, TimeSpan.FromSeconds((double)(now - started) / System.Diagnostics.Stopwatch.Frequency)));
                }
            }

            Flush(DispatchReason.DRAIN);
            scored.CompleteAdding();
            return (rows, errors, batches, inferenceTicks);
        }
        catch
        {
            stop.Cancel();
            throw;
        }
    }

    /// <summary>Fills a valid event of the run's model into the next input row (null); otherwise the refusal, with its ERROR prediction when it has a plausible event time.</summary>
    private Refusal? Admit(in BatchInput input, string modelName, int row)
    {
        if (input.HasRow)
        {
            return string.Equals(input.ModelName, modelName, StringComparison.Ordinal)
                ? CopyRow(input, row)
                : new Refusal(Refused(null, input.FallbackId, input.EventTimeMs ?? input.RecordTimeMs, input.RecordTimeMs, input.ModelName, $"{ReasonCodes.UnknownModel}: not the model of this run ({modelName})"));
        }

        if (input.Event is null)
        {
            // Without a plausible event time there is no honest time to place an ERROR prediction at (an invented
            // one would move the aggregator's stream time past the backfill's real events): counted only.
            return new Refusal(input.EventTimeMs is { } eventTimeMs
                ? Refused(null, input.FallbackId, eventTimeMs, input.RecordTimeMs, input.ModelName, $"{input.ErrorCode}: {input.ErrorDetail}")
                : null);
        }

        if (!string.Equals(input.Event.ModelName, modelName, StringComparison.Ordinal))
        {
            return new Refusal(Refused(input.Event, input.FallbackId, input.Event.EventTimeMs, input.RecordTimeMs, input.Event.ModelName, $"{ReasonCodes.UnknownModel}: not the model of this run ({modelName})"));
        }

        return validator.Fill(input.Event, session, row) is { } invalid
            ? new Refusal(NewPrediction(input.Event, null, input.RecordTimeMs, PredictionStatus.ERROR, invalid.ToString()))
            : null;
    }

    /// <summary>Copies an input's decoded row into input row <paramref name="row"/> (null: admitted).</summary>
    private Refusal? CopyRow(in BatchInput input, int row)
    {
        if (session.InputIsDouble ? input.RowDouble.Length != session.InputWidth : input.Row.Length != session.InputWidth)
        {
            throw new InvalidOperationException($"A decoded row of {Math.Max(input.Row.Length, input.RowDouble.Length)} values does not fit {session.Model.Manifest.Name} {session.Model.Manifest.Version}'s input of {session.InputWidth} {(session.InputIsDouble ? "float64" : "float32")} values: rows must be decoded for this run's session.");
        }

        if (session.InputIsDouble)
        {
            input.RowDouble.Span.CopyTo(session.InputRowDouble(row));
        }
        else
        {
            input.Row.Span.CopyTo(session.InputRow(row));
        }

        return null;
    }

    /// <summary>The publisher: closes each prediction's timing and writes it to the sink, batch after batch.</summary>
    private static void Publish(BlockingCollection<Outgoing[]> scored, IPredictionSink sink, CancellationTokenSource stop)
    {
        try
        {
            foreach (var batch in scored.GetConsumingEnumerable(stop.Token))
            {
                foreach (var (prediction, consumeTicks, runEndTicks) in batch)
                {
                    PredictionClock.HandOff(prediction.Timing, consumeTicks, runEndTicks);
                    sink.Write(prediction);
                }
            }
        }
        catch
        {
            stop.Cancel();
            throw;
        }
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

    private Prediction NewPrediction(FeatureEvent? featureEvent, string? fallbackId, long recordTimeMs, PredictionStatus status, string? error) =>
        NewPrediction(featureEvent?.EventId ?? fallbackId ?? "", featureEvent?.EntityId ?? "", featureEvent?.EventTimeMs ?? recordTimeMs, recordTimeMs, status, error);

    private Prediction NewPrediction(string eventId, string entityId, long eventTimeMs, long recordTimeMs, PredictionStatus status, string? error)
    {
        var manifest = session.Model.Manifest;
        return new Prediction
        {
            EventId = eventId,
            ModelName = manifest.Name,
            ModelVersion = manifest.Version,
            ModelHash = session.Model.Sha256,
            EntityId = entityId,
            EventTimeMs = eventTimeMs,
            Status = status,
            ErrorReason = error,
            OutputKind = manifest.OutputKind,
            ScorerInstance = instanceId,
            Timing = PredictionClock.Replayed(recordTimeMs, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()),
        };
    }

    /// <summary>A prediction on its way to the sink, with what its hand-off timing needs.</summary>
    private readonly record struct Outgoing(Prediction Prediction, long ConsumeTicks, long? RunEndTicks);

    /// <summary>An input that is not scored, and its ERROR prediction when it gets one.</summary>
    private readonly record struct Refusal(Prediction? Prediction);
}
