using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using StreamMonitor.Contracts;
using StreamMonitor.Kafka;
using StreamMonitor.Streams;

namespace StreamMonitor.Aggregator.Quality;

/// <summary>
/// Runs <see cref="QualityJoinTask"/>s: one per partition number p over predictions p (lane 0) and labels p (lane 1), in
/// group "{ConsumerGroup}-quality", the lanes merged by event time (prediction event time against label time; equal
/// times: the prediction first).
/// </summary>
public sealed class QualityProcessor(QualitySettings settings, EventCodec codec) : ICoPartitionedTaskFactory
{
    /// <summary>The processor of the service.</summary>
    public static CoPartitionedProcessor Create(QualitySettings settings, AggregatorOptions options, KafkaOptions kafka, EventCodec codec, IProducer<byte[], byte[]> producer, CheckpointStore store, ILoggerFactory loggerFactory, IProcessorMetrics? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        var processor = new CoPartitionedSettings(
            options.ConsumerGroup + "-quality",
            [settings.Topics.Predictions, settings.Topics.Labels],
            options.CheckpointEveryRecords,
            TimeSpan.FromMilliseconds(options.CheckpointIntervalMs),
            TimeSpan.FromSeconds(1),
            options.Quality.LaneCapacity,
            settings.Topics.QualityChangelog);

        // Its own progress board: label times run ahead of prediction times and must not drive latency idle flushes.
        return new CoPartitionedProcessor(processor, kafka, new QualityProcessor(settings, codec), producer, store, new ProgressBoard(), loggerFactory.CreateLogger("StreamMonitor.Aggregator.quality"), metrics);
    }

    /// <inheritdoc />
    public IPartitionTask Create(int partition, byte[]? state, IReadOnlyDictionary<string, byte[]> changelog) => new QualityJoinTask(settings, partition, state, changelog, codec);

    /// <inheritdoc />
    public long EventTimeOf(int lane, ConsumeResult<byte[], byte[]> record)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (record.Message.Value is not { } value)
        {
            return long.MinValue;
        }

        if (lane == 0)
        {
            return codec.TryDeserialize<Prediction>(value, out var prediction, out _) && prediction is not null ? prediction.EventTimeMs : long.MinValue;
        }

        return codec.TryDeserialize<Label>(value, out var label, out _) && label is not null ? label.LabelTimeMs : long.MinValue;
    }
}
