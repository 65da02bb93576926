using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.Validation;
using StreamMonitor.Models.Inference;

namespace StreamMonitor.Scorer;

/// <summary>
/// Runs a model slot's waiting batch (<see cref="BatchScorer"/>) and publishes one prediction per row, observing
/// each stage in the slot's histograms; then the shadow model scores the same rows. A failed run gives every row an
/// INFERENCE_FAILED rejection. Called from the scoring loop only.
/// </summary>
internal sealed partial class BatchDispatcher(PredictionPublisher publisher, ShadowScorer shadows, ILogger logger)
{
    private static readonly PredictionStage[] Stages = Enum.GetValues<PredictionStage>();
    private long _batchCounter;

    /// <summary>Scores and publishes the rows waiting in <paramref name="slot"/>; nothing when none wait.</summary>
    public void Dispatch(ModelSlot slot, DispatchReason reason)
    {
        var rows = slot.Batcher.Count;
        if (rows == 0)
        {
            return;
        }

        var model = slot.Current!;
        BatchRun run;
        try
        {
            run = BatchScorer.Run(model.Session, rows, ++_batchCounter, reason);
        }
        catch (OnnxRuntimeException ex)
        {
            LogInferenceFailed(logger, ex, model.Name, model.Version, rows);
            for (var i = 0; i < rows; i++)
            {
                var row = slot.Rows[i];
                publisher.Reject(row.Context, row.Event, new Rejection(ReasonCodes.InferenceFailed, ex.Message));
            }

            slot.Batcher.Reset();
            return;
        }

        slot.BatchRows.Observe(rows);
        slot.Batches[(int)reason].Inc();
        for (var i = 0; i < rows; i++)
        {
            var row = slot.Rows[i];
            var prediction = publisher.NewPrediction(row.Event, row.Context, model, PredictionStatus.OK, null);
            BatchScorer.Complete(model.Session, run, i, row.Clock, prediction);
            PredictionClock.HandOff(prediction.Timing, row.Clock.ConsumeTicks, run.EndTicks);
            publisher.Publish(prediction, row.Context.Record);
            slot.Timings[i] = prediction.Timing;
        }

        // Metrics after every row is handed off: recording them must not delay the next row of the batch.
        for (var i = 0; i < rows; i++)
        {
            foreach (var stage in Stages)
            {
                slot.Stages[(int)stage].Observe(slot.Timings[i].StageMicros((int)stage) / 1e6);
            }

            slot.OkCounter.Inc();
        }

        if (slot.Shadow is { } shadow)
        {
            shadows.Score(slot, shadow, rows, run.Id, reason);
        }

        slot.Batcher.Reset();
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Inference failed for {Model} version {Version} on a batch of {Rows} rows; each event gets an error prediction")]
    private static partial void LogInferenceFailed(ILogger logger, Exception ex, string model, string version, int rows);
}
