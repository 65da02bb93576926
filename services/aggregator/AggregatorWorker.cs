using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StreamMonitor.Aggregator.Latency;
using StreamMonitor.Aggregator.Topology;
using StreamMonitor.Contracts;
using StreamMonitor.Kafka;
using StreamMonitor.Streams;

namespace StreamMonitor.Aggregator;

/// <summary>
/// Runs the aggregator: stage A (group "{ConsumerGroup}") over the input topics and stage B (group
/// "{ConsumerGroup}-merge") over the partials topic, each on its own thread with its own consumer.
/// </summary>
public sealed class AggregatorWorker(IOptions<KafkaOptions> kafkaOptions, IOptions<AggregatorOptions> aggregatorOptions, ILoggerFactory loggerFactory, IHostApplicationLifetime lifetime) : BackgroundService
{
    /// <inheritdoc />
    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var kafka = kafkaOptions.Value;
        var options = aggregatorOptions.Value;
        var codec = new EventCodec();
        var progress = new ProgressBoard();
        var topics = kafka.Topics;
        var stage = new StageSettings(options.WindowSpecs(), options.GraceMs, options.IdleTimeoutMs, topics);
        var latency = new LatencyTopology(codec, options.SliThresholdsUs, topics);
        var builders = new List<IResultBuilder> { latency };
        var inputs = new List<string>();
        if (options.Latency)
        {
            inputs.Add(topics.Predictions);
        }

        var stageA = new StageAFactory(stage, codec, options.Latency ? latency : null);
        var merge = new MergeSettings(options.GraceMs, options.MergeGraceMs, options.MergeRetentionMs, topics.DeadLetter);
        var stageB = new MergeFactory(builders, merge, codec, progress);
        var runs = new List<Task>
        {
            RunProcessor("stage-a", new ProcessorSettings(options.ConsumerGroup, inputs, options.CheckpointEveryRecords, TimeSpan.FromMilliseconds(options.CheckpointIntervalMs), TimeSpan.FromMilliseconds(200)), stageA, kafka, progress, stoppingToken),
            RunProcessor("stage-b", new ProcessorSettings(options.ConsumerGroup + "-merge", [topics.WindowPartials], options.CheckpointEveryRecords, TimeSpan.FromMilliseconds(options.CheckpointIntervalMs), TimeSpan.FromSeconds(1)), stageB, kafka, progress, stoppingToken),
        };
        return Task.WhenAll(runs);
    }

    private Task RunProcessor(string name, ProcessorSettings settings, IPartitionTaskFactory factory, KafkaOptions kafka, ProgressBoard progress, CancellationToken stoppingToken)
    {
        var logger = loggerFactory.CreateLogger($"StreamMonitor.Aggregator.{name}");
        return Task.Factory.StartNew(
            () =>
            {
                try
                {
                    var producerConfig = KafkaClientConfig.Producer(kafka, $"aggregator-{name}-{Environment.ProcessId}");
                    producerConfig.MessageMaxBytes = 16 * 1024 * 1024;
                    using var producer = new ProducerBuilder<byte[], byte[]>(producerConfig).Build();
                    using var store = new CheckpointStore(kafka, $"aggregator-{name}-{Environment.ProcessId}");
                    new PartitionedProcessor(settings, kafka, factory, producer, store, progress, logger).Run(stoppingToken);
                }
                catch (Exception ex) when (ex is KafkaException or InvalidDataException or TimeoutException)
                {
                    // Fail fast: the checkpoints make a restart resume exactly where this left off.
                    logger.LogCritical(ex, "Processor {Processor} failed; stopping the service", name);
                    lifetime.StopApplication();
                    throw;
                }
            },
            stoppingToken,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);
    }

    private sealed class StageAFactory(StageSettings settings, EventCodec codec, LatencyTopology? latency) : IPartitionTaskFactory
    {
        public IPartitionTask Create(TopicPartition partition, byte[]? state)
        {
            if (latency is not null && partition.Topic == settings.Topics.Predictions)
            {
                return new WindowStageTask<LatencyAggregate>(latency, settings, partition, state, codec);
            }

            throw new InvalidOperationException($"No topology reads {partition.Topic}.");
        }
    }

    private sealed class MergeFactory(IReadOnlyList<IResultBuilder> builders, MergeSettings settings, EventCodec codec, ProgressBoard progress) : IPartitionTaskFactory
    {
        public IPartitionTask Create(TopicPartition partition, byte[]? state) => new MergeStageTask(builders, settings, state, codec, progress);
    }
}
