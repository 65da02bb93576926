using StreamMonitor.Contracts;

namespace StreamMonitor.Models.Inference;

/// <summary>
/// Runs a filled batch and completes its rows' OK predictions, the same way for the streaming scorer, its shadow
/// models and the backfill: one timed <see cref="ModelSession.Run"/>, then each row's output read as the manifest
/// defines it and its timing set by <see cref="PredictionClock"/>.
/// </summary>
public static class BatchScorer
{
    /// <summary>Runs the first <paramref name="rows"/> filled rows of <paramref name="session"/>.</summary>
    /// <exception cref="Microsoft.ML.OnnxRuntime.OnnxRuntimeException">The run failed; no output is valid.</exception>
    public static BatchRun Run(ModelSession session, int rows, long batchId, DispatchReason reason)
    {
        ArgumentNullException.ThrowIfNull(session);
        var start = PredictionClock.Now;
        session.Run(rows);
        return new BatchRun(batchId, rows, reason, start, PredictionClock.Now);
    }

    /// <summary>
    /// Sets the answer of row <paramref name="row"/> of <paramref name="run"/> into <paramref name="prediction"/>
    /// (score, class, probabilities, the provider that ran it) and its batch timing.
    /// </summary>
    public static void Complete(ModelSession session, in BatchRun run, int row, in RowClock clock, Prediction prediction)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(prediction);
        OutputReader.Apply(session.Model.Manifest, session.OutputRow(row), prediction);
        prediction.ExecutionProvider = session.ExecutionProvider;
        PredictionClock.Batched(prediction.Timing, clock, run);
    }
}
