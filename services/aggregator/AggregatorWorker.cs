using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StreamMonitor.Aggregator.Drift;
using StreamMonitor.Aggregator.Latency;
using StreamMonitor.Aggregator.Quality;
using StreamMonitor.Aggregator.Topology;
using StreamMonitor.Analytics.Drift;
using StreamMonitor.Analytics.Latency;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.Validation;
using StreamMonitor.Hosting;
using StreamMonitor.Kafka;
using StreamMonitor.Streams;

namespace StreamMonitor.Aggregator;

/// <summary>
/// Runs the aggregator: stage A (group "{ConsumerGroup}") over the input topics and stage B (group
/// "{ConsumerGroup}-merge") over the partials topic, the label repartition step (group "{ConsumerGroup}-labels": labels
/// to labels-by-id by event id, <see cref="LabelRepartitioner"/>) and the quality join (group "{ConsumerGroup}-quality")
/// over predictions and labels-by-id (<see cref="QualityProcessor"/>), each on its own thread with its own consumer and producer.
/// Every input record goes through one <see cref="RecordPolicy"/> (Aggregator:EventTime) at the source
/// (<see cref="InputRecords"/>), so a bad record is rejected, routed once and never reaches a topology's state. A
/// processor that fails anyway (the cluster, a corrupt checkpoint) stops the service: its checkpoints make a restart
/// resume exactly where it left off.
/// </summary>
public sealed class AggregatorWorker(IOptions<KafkaOptions> kafkaOptions, IOptions<AggregatorOptions> aggregatorOptions, IReadinessGate readiness, ProgressWatchdog watchdog, ILoggerFactory loggerFactory, IHostApplicationLifetime lifetime, Prometheus.IMetricFactory metricFactory) : BackgroundService
{
    /// <inheritdoc />
    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var kafka = kafkaOptions.Value;
        var options = aggregatorOptions.Value;
        var logger = loggerFactory.CreateLogger<AggregatorWorker>();
        var codec = new EventCodec();
        var inputs = new InputRecords(new RecordPolicy(codec, options.EventTime.ToPolicy()));
        var progress = new ProgressBoard();
        var topics = kafka.Topics;
        var metrics = new AggregatorMetrics(metricFactory, progress);
        var stage = options.ToStageSettings(topics, metrics);
        var inputTopics = new List<string>();
        var builders = new List<IResultBuilder>();
        LatencyTopology? latency = null;
        DriftTopology? drift = null;
        ScoreDriftTopology? scoreDrift = null;
        if (options.Latency)
        {
            latency = new LatencyTopology(inputs, codec, options.EffectiveSliThresholdsUs, topics);
            inputTopics.Add(topics.Predictions);
            builders.Add(latency);
        }

        if (options.Drift && options.Profiles.Count > 0)
        {
            var profiles = options.Profiles.ToDictionary(p => p.Key, p => ReferenceProfile.Load(p.Value), StringComparer.Ordinal);
            foreach (var (model, profile) in profiles)
            {
                logger.LogInformation("Drift reference for {Model}: profile {ProfileId} from {Source} ({Rows} rows)", model, profile.Id, profile.Source, profile.Rows);
            }

            drift = new DriftTopology(inputs, codec, profiles, options.DriftThresholds, topics, options.DeadLetterFeatures, metrics);
            inputTopics.Add(topics.Features);
            builders.Add(drift);
            // Without the latency topology, score drift is the stage A topology of the predictions: it routes bad ones.
            scoreDrift = new ScoreDriftTopology(inputs, profiles, routesBadRecords: latency is null);
            if (scoreDrift.Enabled && !inputTopics.Contains(topics.Predictions))
            {
                inputTopics.Add(topics.Predictions);
            }
        }

        var quality = options.Quality.Enabled ? options.Quality.ToSettings(topics, metrics) with
        {
            // Stage A dead-letters malformed predictions when a topology of it reads them; the join then only skips them.
            RoutesMalformedPredictions = latency is null && scoreDrift?.Enabled != true,
        }
        : null;
        var repartitioner = quality is null ? null : new LabelRepartitioner(topics, inputs, codec, metrics);
        if (quality is not null)
        {
            builders.Add(new QualityTopology(codec, quality));
        }

        if (inputTopics.Count == 0 && quality is null)
        {
            throw new InvalidOperationException("No topology is enabled (Aggregator:Latency, Aggregator:Drift with Aggregator:Profiles, or Aggregator:Quality).");
        }

        var stageA = new StageAFactory(stage, codec, latency, drift, scoreDrift is { Enabled: true } ? scoreDrift : null);
        var merge = options.ToMergeSettings(topics, metrics);
        var stageB = new MergeFactory(builders, merge, codec, progress);
        var checkpointInterval = options.CheckpointInterval;
        readiness.MarkReady();
        return Task.WhenAll(
            // Quality alone has no windowed input of stage A; its partials still go through stage B.
            inputTopics.Count == 0 ? Task.CompletedTask : RunProcessor("stage-a", new ProcessorSettings(options.ConsumerGroup, inputTopics, options.CheckpointEveryRecords, checkpointInterval, TimeSpan.FromMilliseconds(200)), stageA, kafka, progress, metrics, stoppingToken),
            RunProcessor("stage-b", new ProcessorSettings(options.ConsumerGroup + "-merge", [topics.WindowPartials], options.CheckpointEveryRecords, checkpointInterval, TimeSpan.FromSeconds(1)), stageB, kafka, progress, metrics, stoppingToken),
            repartitioner is null ? Task.CompletedTask : RunProcessor("labels", kafka, (producer, _, loop) => cancellation => repartitioner.Run(new LabelRepartitionSettings(options.ConsumerGroup + "-labels", options.CheckpointEveryRecords, options.Quality.LabelCommitInterval, loop), kafka, producer, loggerFactory.CreateLogger("StreamMonitor.Aggregator.labels"), cancellation), stoppingToken),
            quality is null ? Task.CompletedTask : RunProcessor("quality", kafka, (producer, store, loop) => QualityProcessor.Create(quality, options, kafka, inputs, codec, producer, store, loggerFactory, metrics.ForProcessor("quality"), loop, () => repartitioner!.CaughtUp).Run, stoppingToken));
    }

    private Task RunProcessor(string name, ProcessorSettings settings, IPartitionTaskFactory factory, KafkaOptions kafka, ProgressBoard progress, AggregatorMetrics metrics, CancellationToken stoppingToken) =>
        RunProcessor(name, kafka, (producer, store, loop) => new PartitionedProcessor(settings with { Progress = loop }, kafka, factory, producer, store, progress, loggerFactory.CreateLogger($"StreamMonitor.Aggregator.{name}"), metrics.ForProcessor(name)).Run, stoppingToken);

    /// <summary>Runs a processor on its own thread, its loop registered with the liveness watchdog as "aggregator/{name}".</summary>
    private Task RunProcessor(string name, KafkaOptions kafka, Func<IProducer<byte[], byte[]>, CheckpointStore, LoopProgress, Action<CancellationToken>> create, CancellationToken stoppingToken)
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
                    using var store = new CheckpointStore(kafka, kafka.Topics.AggregatorCheckpoints, $"aggregator-{name}-{Environment.ProcessId}");
                    using var loop = watchdog.Register("aggregator/" + name);
                    create(producer, store, loop)(stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // Fail fast, whatever failed (not only the cluster: an unforeseen exception must not end one processor
                    // silently while the others run and the service reports ready). The checkpoints make a restart
                    // resume exactly where this left off; no input record can cause this, the record policy rejects it first.
                    logger.LogCritical(ex, "Processor {Processor} failed; stopping the service", name);
                    readiness.MarkNotReady($"{name} failed: {ex.Message}");
                    lifetime.StopApplication();
                    throw;
                }
            },
            stoppingToken,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);
    }

    private sealed class StageAFactory(StageSettings settings, EventCodec codec, LatencyTopology? latency, DriftTopology? drift, ScoreDriftTopology? scoreDrift) : IPartitionTaskFactory
    {
        public IPartitionTask Create(TopicPartition partition, byte[]? state)
        {
            if (scoreDrift is not null && partition.Topic == settings.Topics.Predictions)
            {
                // Score drift reads the predictions too: one task per topology, one checkpoint for the partition.
                var tasks = new List<Func<byte[]?, IPartitionTask>> { s => new WindowStageTask<ModelDriftAggregate>(scoreDrift, settings, partition, s, codec) };
                if (latency is not null)
                {
                    tasks.Insert(0, s => new WindowStageTask<LatencyAggregate>(latency, settings, partition, s, codec));
                }

                return new CompositeTask(tasks, state);
            }

            if (latency is not null && partition.Topic == settings.Topics.Predictions)
            {
                return new WindowStageTask<LatencyAggregate>(latency, settings, partition, state, codec);
            }

            if (drift is not null && partition.Topic == settings.Topics.Features)
            {
                return new WindowStageTask<ModelDriftAggregate>(drift, settings, partition, state, codec);
            }

            throw new InvalidOperationException($"No topology reads {partition.Topic}.");
        }
    }

    private sealed class MergeFactory(IReadOnlyList<IResultBuilder> builders, MergeSettings settings, EventCodec codec, ProgressBoard progress) : IPartitionTaskFactory
    {
        public IPartitionTask Create(TopicPartition partition, byte[]? state) => new MergeStageTask(builders, settings, state, codec, progress);
    }
}
