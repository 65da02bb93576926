using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using StreamMonitor.Aggregator.Topology;
using StreamMonitor.Contracts;
using StreamMonitor.Kafka;
using StreamMonitor.Streams;

namespace StreamMonitor.Aggregator.Quality;

/// <summary>
/// Runs <see cref="QualityJoinTask"/>s: one per partition number p over predictions p (lane 0) and labels-by-id p (lane 1,
/// written by <see cref="LabelRepartitioner"/>), in
/// group "{ConsumerGroup}-quality", the lanes merged by event time (prediction event time against label time; equal
/// times: the prediction first). Event times are read through the record policy (<paramref name="inputs"/>), whose
/// outcome the task reuses; a rejected record has none and is released at once, moving no time.
/// </summary>
/// <param name="settings">The quality topology's settings.</param>
/// <param name="inputs">Decodes and validates predictions and labels.</param>
/// <param name="codec">Encodes dead letters.</param>
public sealed class QualityProcessor(QualitySettings settings, InputRecords inputs, EventCodec codec) : ICoPartitionedTaskFactory
{
    /// <summary>
    /// The processor of the service; <paramref name="progress"/> reports its loop to the liveness watchdog;
    /// <paramref name="labelsCaughtUp"/> tells whether the in-process label repartition step has written all its input
    /// (<see cref="LabelRepartitioner.CaughtUp"/>; the end of the label lane counts only then).
    /// </summary>
    public static CoPartitionedProcessor Create(QualitySettings settings, AggregatorOptions options, KafkaOptions kafka, InputRecords inputs, EventCodec codec, IProducer<byte[], byte[]> producer, CheckpointStore store, ILoggerFactory loggerFactory, IProcessorMetrics? metrics = null, LoopProgress? progress = null, Func<bool>? labelsCaughtUp = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        var processor = new CoPartitionedSettings(
            options.ConsumerGroup + "-quality",
            [settings.Topics.Predictions, settings.Topics.LabelsById],
            options.CheckpointEveryRecords,
            options.CheckpointInterval,
            TimeSpan.FromSeconds(1),
            options.Quality.LaneCapacity,
            settings.Topics.QualityChangelog,
            progress,
            labelsCaughtUp is null ? null : lane => lane == 0 || labelsCaughtUp());

        // Its own progress board: label times run ahead of prediction times and must not drive latency idle flushes.
        return new CoPartitionedProcessor(processor, kafka, new QualityProcessor(settings, inputs, codec), producer, store, new ProgressBoard(), loggerFactory.CreateLogger("StreamMonitor.Aggregator.quality"), metrics);
    }

    /// <inheritdoc />
    public IPartitionTask Create(int partition, byte[]? state, IReadOnlyDictionary<string, byte[]> changelog) => new QualityJoinTask(settings, partition, state, changelog, inputs, codec);

    /// <inheritdoc />
    public long EventTimeOf(int lane, ConsumeResult<byte[], byte[]> record)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (lane == 0)
        {
            return inputs.Prediction(record).Value?.EventTimeMs ?? long.MinValue;
        }

        return inputs.Label(record).Value?.LabelTimeMs ?? long.MinValue;
    }
}
