using System.Diagnostics;
using StreamMonitor.Contracts;

namespace StreamMonitor.Models.Inference;

/// <summary>The stages of a prediction's timing, numbered as <see cref="PredictionTiming.StageNames"/> and <see cref="PredictionTiming.StageMicros"/> number them.</summary>
public enum PredictionStage
{
    /// <summary>Record timestamp to consume (wall clock).</summary>
    KafkaQueue = 0,
    /// <summary>Consume to the row waiting in its batch: decode, validation, tensor fill.</summary>
    Decode = 1,
    /// <summary>The row waiting in its batch until the batch's run starts.</summary>
    BatchWait = 2,
    /// <summary>The batch's ONNX Runtime run.</summary>
    Inference = 3,
    /// <summary>End of the run to this row's hand-off: output extraction and the encoding of the rows before it.</summary>
    Encode = 4,
    /// <summary>Consume to hand-off to the producer.</summary>
    E2e = 5,
}

/// <summary>When one row was consumed and when it joined its batch (Stopwatch ticks).</summary>
/// <param name="ConsumeTicks">The record came out of the Kafka client (or the file reader).</param>
/// <param name="EnqueueTicks">Decoded, validated and filled into the input tensor.</param>
public readonly record struct RowClock(long ConsumeTicks, long EnqueueTicks);

/// <summary>One ONNX Runtime run of a batch (Stopwatch ticks).</summary>
/// <param name="Id">Batch id, increasing per scorer.</param>
/// <param name="Rows">Rows in the batch.</param>
/// <param name="Reason">Why the batch left.</param>
/// <param name="StartTicks">Run started.</param>
/// <param name="EndTicks">Run ended, outputs ready.</param>
public readonly record struct BatchRun(long Id, int Rows, DispatchReason Reason, long StartTicks, long EndTicks);

/// <summary>
/// The one place a prediction's timing is measured, for the streaming scorer and the backfill alike, so every stage
/// means the same wherever a prediction was made: <see cref="Consumed"/> when the record is read,
/// <see cref="Batched"/> once its batch has run, <see cref="HandOff"/> when it goes to the producer or sink.
/// </summary>
public static class PredictionClock
{
    /// <summary>Now, in Stopwatch ticks.</summary>
    public static long Now => Stopwatch.GetTimestamp();

    /// <summary>Whole microseconds in <paramref name="ticks"/> Stopwatch ticks.</summary>
    public static long Micros(long ticks) => ticks * 1_000_000 / Stopwatch.Frequency;

    /// <summary>
    /// Starts the timing of a consumed record: broker time, consume time (wall clock, as the broker's timestamp is)
    /// and the Kafka queue stage; 0 when the record has no timestamp.
    /// </summary>
    public static PredictionTiming Consumed(long? recordTimestampMs, long consumedAtMs) => new()
    {
        BrokerTimeMs = recordTimestampMs ?? 0,
        ConsumedAtMs = consumedAtMs,
        KafkaQueueUs = recordTimestampMs is { } ms ? Math.Max(0, (consumedAtMs - ms) * 1000) : 0,
        DispatchReason = DispatchReason.NONE,
    };

    /// <summary>
    /// Starts the timing of a record read again long after it was written (a backfill): its broker time is kept, but
    /// the time it waited in Kafka is not scorer latency, so the Kafka queue stage is 0.
    /// </summary>
    public static PredictionTiming Replayed(long recordTimestampMs, long consumedAtMs) => new()
    {
        BrokerTimeMs = recordTimestampMs,
        ConsumedAtMs = consumedAtMs,
        DispatchReason = DispatchReason.NONE,
    };

    /// <summary>Sets the stages of a row whose batch has run: decode, batch wait, inference, and the batch's identity.</summary>
    public static void Batched(PredictionTiming timing, in RowClock row, in BatchRun run)
    {
        ArgumentNullException.ThrowIfNull(timing);
        timing.DecodeUs = Micros(row.EnqueueTicks - row.ConsumeTicks);
        timing.BatchWaitUs = Micros(run.StartTicks - row.EnqueueTicks);
        timing.BatchId = run.Id;
        timing.BatchSize = run.Rows;
        timing.DispatchReason = run.Reason;
        timing.InferenceUs = Micros(run.EndTicks - run.StartTicks);
    }

    /// <summary>
    /// Closes the timing at hand-off: encode (from the end of the batch's run, or 0 for a row that never ran) and
    /// e2e from consume; the decode stage of a row that never ran is its whole time in the scorer.
    /// </summary>
    public static void HandOff(PredictionTiming timing, long consumeTicks, long? runEndTicks)
    {
        ArgumentNullException.ThrowIfNull(timing);
        var now = Stopwatch.GetTimestamp();
        if (runEndTicks is { } end)
        {
            timing.EncodeUs = Micros(now - end);
        }
        else
        {
            timing.DecodeUs = Micros(now - consumeTicks);
        }

        timing.E2eUs = Micros(now - consumeTicks);
        timing.PublishedAtMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
    }
}
