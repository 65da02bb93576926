using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;
using StreamMonitor.Contracts;
using StreamMonitor.Models.Inference;

namespace StreamMonitor.Scorer;

/// <summary>
/// Scores a main batch's events again with the slot's shadow model and publishes to the shadow topic with
/// shadow = true. Its own validation failures become shadow ERROR predictions; its run and publish failures are
/// logged; nothing here can touch the main output or the offsets.
/// </summary>
internal sealed partial class ShadowScorer(PredictionPublisher publisher, ILogger logger)
{
    /// <summary>Scores the first <paramref name="rows"/> waiting rows of <paramref name="slot"/> as batch <paramref name="batchId"/>.</summary>
    public void Score(ModelSlot slot, ServedModel shadow, int rows, long batchId, DispatchReason reason)
    {
        try
        {
            var accepted = 0;
            for (var i = 0; i < rows; i++)
            {
                var row = slot.Rows[i];
                if (shadow.Validator.Fill(row.Event, shadow.Session, accepted) is { } invalid)
                {
                    var failed = publisher.NewPrediction(row.Event, row.Context, shadow, PredictionStatus.ERROR, invalid.ToString());
                    failed.Shadow = true;
                    PredictionClock.HandOff(failed.Timing, row.Clock.ConsumeTicks, runEndTicks: null);
                    publisher.PublishShadow(failed);
                    continue;
                }

                slot.ShadowRowMap[accepted++] = i;
            }

            if (accepted == 0)
            {
                return;
            }

            var run = BatchScorer.Run(shadow.Session, accepted, batchId, reason);
            for (var k = 0; k < accepted; k++)
            {
                var row = slot.Rows[slot.ShadowRowMap[k]];
                var prediction = publisher.NewPrediction(row.Event, row.Context, shadow, PredictionStatus.OK, null);
                prediction.Shadow = true;
                BatchScorer.Complete(shadow.Session, run, k, row.Clock, prediction);
                PredictionClock.HandOff(prediction.Timing, row.Clock.ConsumeTicks, run.EndTicks);
                publisher.PublishShadow(prediction);
            }
        }
        catch (Exception ex) when (ex is OnnxRuntimeException or KafkaException or Avro.AvroException)
        {
            LogShadowFailed(logger, ex, shadow.Name, shadow.Version);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shadow model {Model} version {Version} failed on a batch; the main output is unaffected")]
    private static partial void LogShadowFailed(ILogger logger, Exception ex, string model, string version);
}
