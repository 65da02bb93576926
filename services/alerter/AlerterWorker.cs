using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StreamMonitor.Alerter.Notifications;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.Validation;
using StreamMonitor.Hosting;
using StreamMonitor.Kafka;
using StreamMonitor.Slo;
using StreamMonitor.Streams;

namespace StreamMonitor.Alerter;

/// <summary>
/// Runs the alerter's consume-evaluate-emit cycle on the <see cref="TaskRunner"/>: one <see cref="AlerterTask"/> over
/// every partition of the latency, quality and drift result topics (<see cref="AlerterLayout"/>: assigned, not
/// subscribed). State and input offsets are checkpointed as one record (with the watermarks' lane positions): at once
/// after any alert transition (before the notifier may deliver it), after deliveries, and at least every
/// CheckpointInterval while input moves. On start it restores the newest checkpoint and seeks to its offsets; inputs
/// after them are re-processed and re-emit identical keyed outputs. The loop reports to the
/// <see cref="ProgressWatchdog"/> as "alerter", so /healthz turns red if it stops moving while results wait.
/// </summary>
public sealed class AlerterWorker(
    IOptions<KafkaOptions> kafkaOptions,
    IOptions<AlerterOptions> alerterOptions,
    IReadOnlyList<SloDefinition> slos,
    AlertNotifier notifier,
    EventCodec codec,
    AlerterMetrics metrics,
    IReadinessGate readiness,
    ProgressWatchdog watchdog,
    ILogger<AlerterWorker> logger) : BackgroundService
{
    private readonly KafkaOptions _kafka = kafkaOptions.Value;
    private readonly AlerterOptions _options = alerterOptions.Value;

    /// <summary>How often the input lag is reported to the watchdog.</summary>
    private static readonly TimeSpan LagReportInterval = TimeSpan.FromSeconds(1);

    /// <inheritdoc />
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.Factory.StartNew(() => Run(stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private void Run(CancellationToken stoppingToken)
    {
        var topics = _kafka.Topics;
        string[] inputs = [topics.LatencyResults, topics.QualityResults, topics.DriftResults];
        var partitions = inputs.SelectMany(topic => Enumerable.Range(0, topics.ResultPartitions).Select(p => new TopicPartition(topic, p))).ToList();
        var interval = _options.CheckpointInterval;
        var evaluator = new AlertEvaluator(slos, _options.ToEvaluatorOptions());
        var watermarks = new GroupWatermarks(_options.LaneIdleSpan);
        using var progress = watchdog.Register("alerter");
        using var producer = new ProducerBuilder<byte[], byte[]>(KafkaClientConfig.Producer(_kafka, _options.EvaluatorId)).Build();
        using var deadLetters = new DeadLetterPublisher(producer, topics, "alerter", codec, logger);
        using var store = new CheckpointStore(_kafka, topics.AlerterCheckpoints, _options.EvaluatorId);
        var context = new AlerterTaskContext(evaluator, watermarks, topics, new RecordPolicy(codec, _options.EventTime.ToPolicy()), codec, notifier, deadLetters, metrics, interval, logger);
        var layout = new AlerterLayout(new AlerterCheckpointFormat(codec, _options.EvaluatorId), _options.EvaluatorId, partitions, deadLetters, (lanes, state) => new AlerterTask(lanes, state, context), logger);

        // Checkpoints come from the task (transitions, deliveries) and the interval, not from a record count.
        var settings = new RunnerSettings(_options.EvaluatorId, inputs, int.MaxValue, interval, LagReportInterval, ChangelogTopic: null, progress, UpstreamCaughtUp: null);
        readiness.MarkReady();
        new TaskRunner(settings, layout, _kafka, producer, store, new ProgressBoard(), logger).Run(stoppingToken);
    }
}
