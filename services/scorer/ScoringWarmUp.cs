using System.Reflection;
using System.Runtime.CompilerServices;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.Validation;
using StreamMonitor.Models.Inference;

namespace StreamMonitor.Scorer;

/// <summary>
/// Runs one synthetic event of every model in service through the managed scoring path (encode, decode, validate,
/// fill, run, read the output, encode the prediction) before the scorer reports ready, publishing nothing; compiles
/// the scoring loop's methods and has the producer learn the predictions topic's partitions. The model sessions are
/// warmed at load; this warms the code around them, whose first-use cost (8 to 19 ms on the first rows, measured in
/// the demo) otherwise lands on the first users' events and showed as a start-up latency burn.
/// </summary>
internal static class ScoringWarmUp
{
    /// <summary>The types whose methods run for every event.</summary>
    private static readonly Type[] HotTypes =
        [typeof(ScorerWorker), typeof(BatchDispatcher), typeof(PredictionPublisher), typeof(BatchScorer), typeof(PredictionClock), typeof(PredictionEncoder)];

    /// <summary>Warms the path; returns the milliseconds it took.</summary>
    public static double Run(ModelSlots slots, IProducer<byte[], byte[]> producer, string predictionsTopic, EventCodec codec, FeatureEventDecoder decoder,
        RecordPolicy policy, PredictionPublisher publisher, PredictionEncoder encoder, ILogger logger)
    {
        var started = PredictionClock.Now;
        foreach (var type in HotTypes)
        {
            foreach (var method in type.GetMethods(BindingFlags.Instance | BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            {
                if (!method.IsAbstract && !method.ContainsGenericParameters)
                {
                    RuntimeHelpers.PrepareMethod(method.MethodHandle);
                }
            }
        }

        try
        {
            using var admin = new DependentAdminClientBuilder(producer.Handle).Build();
            admin.GetMetadata(predictionsTopic, TimeSpan.FromSeconds(5));
        }
        catch (KafkaException ex)
        {
            // Only a warm-up: the first prediction learns the partitions itself.
            logger.LogDebug(ex, "Could not read the metadata of {Topic} while warming up", predictionsTopic);
        }

        foreach (var slot in slots.All)
        {
            if (slot.Current is not { } model || slot.Batcher.Count != 0)
            {
                continue;
            }

            var manifest = model.Session.Model.Manifest;
            var synthetic = new FeatureEvent { EventId = "warm-up", ModelName = slot.Name, EventTimeMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() };
            for (var i = 0; i < manifest.Features.Count; i++)
            {
                synthetic.Features[manifest.Features[i]] = i < manifest.FeatureMeans.Count ? manifest.FeatureMeans[i] : 0.0;
            }

            var record = new ConsumeResult<byte[], byte[]>
            {
                Message = new Message<byte[], byte[]> { Value = codec.Serialize(synthetic), Timestamp = new Timestamp(synthetic.EventTimeMs, TimestampType.CreateTime) },
            };
            if (!decoder.TryDecode(record.Message.Value, out var decoded, out _)
                || !policy.Validate(decoded!, synthetic.EventTimeMs).IsValid
                || model.Validator.Fill(decoded!, model.Session, 0) is not null)
            {
                continue;
            }

            var context = new RecordContext(record, started, synthetic.EventTimeMs);
            var clock = new RowClock(started, PredictionClock.Now);
            var run = BatchScorer.Run(model.Session, 1, 0, DispatchReason.DRAIN);
            var prediction = publisher.NewPrediction(decoded, context, model, PredictionStatus.OK, null);
            BatchScorer.Complete(model.Session, run, 0, clock, prediction);
            PredictionClock.HandOff(prediction.Timing, clock.ConsumeTicks, run.EndTicks);
            _ = encoder.Encode(prediction);
        }

        return PredictionClock.Micros(PredictionClock.Now - started) / 1000.0;
    }
}
