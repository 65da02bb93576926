using System.Text;
using Confluent.Kafka;
using StreamMonitor.Contracts;
using StreamMonitor.Kafka;
using StreamMonitor.Streams;

namespace StreamMonitor.Aggregator.Tests;

/// <summary>Generated predictions (the scorer is built in parallel): heavy-tailed stage timings, errors, batches,
/// out-of-order event times, partitioned by murmur2 of the event id like the scorer's producer.</summary>
public static class PredictionGenerator
{
    public static List<Prediction> Generate(int count, int seed, long startMs = 1_763_800_000_000, int stepMs = 7, int maxDisorderMs = 3_000)
    {
        var random = new Random(seed);
        double Normal() => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        var list = new List<Prediction>(count);
        var clock = startMs;
        for (var i = 0; i < count; i++)
        {
            clock += random.Next(0, stepMs);
            var eventTime = clock - (random.NextDouble() < 0.3 ? random.Next(0, maxDisorderMs) : 0);
            var version = random.NextDouble() < 0.7 ? "1" : "2";
            var error = random.NextDouble() < 0.03;
            var slow = version == "2" ? 3.0 : 1.0;
            var timing = new PredictionTiming
            {
                KafkaQueueUs = (long)Math.Exp(6 + (1.2 * Normal())),
                DecodeUs = random.Next(5, 80),
                BatchWaitUs = random.NextDouble() < 0.5 ? random.Next(0, 5_000) : (long)Math.Exp(8 + Normal()),
                InferenceUs = (long)(slow * Math.Exp(7 + (0.8 * Normal()))) + (random.NextDouble() < 0.01 ? 2_000_000 : 0),
                EncodeUs = random.Next(3, 40),
                BatchSize = random.Next(1, 65),
                BatchId = i / 32,
            };
            timing.E2eUs = timing.KafkaQueueUs + timing.DecodeUs + timing.BatchWaitUs + timing.InferenceUs + timing.EncodeUs;
            list.Add(new Prediction
            {
                EventId = "evt-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ModelName = "fraud",
                ModelVersion = version,
                EventTimeMs = eventTime,
                Status = error ? PredictionStatus.ERROR : PredictionStatus.OK,
                ErrorReason = error ? "boom" : null,
                OutputKind = OutputKind.BINARY_PROBABILITY,
                Score = error ? null : random.NextDouble(),
                Timing = error ? new PredictionTiming() : timing,
            });
        }

        return list;
    }

    /// <summary>Produces <paramref name="predictions"/> in order to the predictions topic, keyed by event id (partitioned as the scorer's are).</summary>
    public static void Produce(IProducer<byte[], byte[]> producer, EventCodec codec, TopicCatalog topics, IEnumerable<Prediction> predictions)
    {
        ArgumentNullException.ThrowIfNull(producer);
        ArgumentNullException.ThrowIfNull(codec);
        ArgumentNullException.ThrowIfNull(topics);
        ArgumentNullException.ThrowIfNull(predictions);
        foreach (var prediction in predictions)
        {
            producer.Produce(topics.Predictions, new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes(prediction.EventId), Value = codec.Serialize(prediction) });
        }
    }

    /// <summary>
    /// An error prediction of model "sentinel": placed far ahead of the real ones on a partition, it closes every real
    /// window there and, being an error, opens no window of its own.
    /// </summary>
    public static Prediction Sentinel(long eventTimeMs, string eventId = "sentinel") =>
        new() { EventId = eventId, ModelName = "sentinel", ModelVersion = "0", EventTimeMs = eventTimeMs, Status = PredictionStatus.ERROR };

    /// <summary>
    /// Produces a <see cref="Sentinel"/> (event id <paramref name="eventId"/> of the partition, "sentinel" by default;
    /// the record key is the event id) to every input partition of the predictions topic.
    /// </summary>
    public static void ProduceSentinels(IProducer<byte[], byte[]> producer, EventCodec codec, TopicCatalog topics, long eventTimeMs, Func<int, string>? eventId = null)
    {
        ArgumentNullException.ThrowIfNull(producer);
        ArgumentNullException.ThrowIfNull(codec);
        ArgumentNullException.ThrowIfNull(topics);
        for (var partition = 0; partition < topics.InputPartitions; partition++)
        {
            var sentinel = Sentinel(eventTimeMs, eventId?.Invoke(partition) ?? "sentinel");
            producer.Produce(new TopicPartition(topics.Predictions, partition), new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes(sentinel.EventId), Value = codec.Serialize(sentinel) });
        }
    }

    public static List<IReadOnlyList<Prediction>> Partition(IEnumerable<Prediction> predictions, int partitions)
    {
        var result = Enumerable.Range(0, partitions).Select(_ => new List<Prediction>()).ToList();
        foreach (var prediction in predictions)
        {
            result[Murmur2.Partition(Encoding.UTF8.GetBytes(prediction.EventId), partitions)].Add(prediction);
        }

        return result.Cast<IReadOnlyList<Prediction>>().ToList();
    }
}
