using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StreamMonitor.Alerter.Notifications;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.Validation;
using StreamMonitor.Hosting;
using StreamMonitor.Influx;
using StreamMonitor.Kafka;
using StreamMonitor.Slo;
using StreamMonitor.Streams;

namespace StreamMonitor.Alerter;

/// <summary>
/// The alerter's consume-evaluate-emit loop. One instance reads every partition of the latency, quality and drift
/// result topics (assigned, not subscribed: the evaluation is global across models and needs one clock), feeds the
/// <see cref="AlertEvaluator"/>: each record is applied (stored by window) as it arrives, and the evaluator is advanced
/// to the watermark of each tick group (<see cref="GroupWatermarks"/>: a group waits only for the partitions of the
/// topic it reads), which evaluates in window order every tick of the group its watermark passed by the allowed
/// lateness; so the decisions do not depend on how the partitions interleave. It
/// emits alert transitions (alerts topic, keyed by alert id), SLO statuses (slo-status topic, keyed by SLO) and
/// InfluxDB points. State and input offsets are checkpointed as one
/// record (with the watermarks' lane positions): at once after any alert transition (before the notifier may deliver
/// it), after deliveries, and at least every CheckpointInterval while input moves. On start it restores the newest
/// checkpoint and seeks to its offsets; inputs after them are re-processed and re-emit identical keyed outputs.
/// </summary>
/// <remarks>
/// <para>Every input goes through the one <see cref="RecordPolicy"/> (decode and validate, event time against the
/// record's Kafka timestamp): a record it refuses, or one on a topic the alerter does not read, becomes exactly one
/// dead letter with its reason code and never reaches the evaluator or the watermark. A checkpoint never records an
/// input offset past a dead letter that is not written yet (<see cref="DeadLetterPublisher.SafeCommitOffset"/>): after a
/// restart that record is read and dead-lettered again; the results after it are applied again, which is harmless
/// because applying a result is an upsert by window.</para>
/// <para>The InfluxDB projection never stops the loop and never delays a decision: points are queued without waiting
/// (a full buffer drops them, counted), and an output with a point line protocol cannot carry is dead-lettered
/// (PROJECTION_REJECTED) while its other points are written. The loop reports to the <see cref="ProgressWatchdog"/> as
/// "alerter", so /healthz turns red if it stops moving while results wait.</para>
/// </remarks>
public sealed class AlerterWorker(
    IOptions<KafkaOptions> kafkaOptions,
    IOptions<AlerterOptions> alerterOptions,
    IReadOnlyList<SloDefinition> slos,
    AlertNotifier notifier,
    EventCodec codec,
    AlerterMetrics metrics,
    IReadinessGate readiness,
    ProgressWatchdog watchdog,
    IServiceProvider services,
    ILogger<AlerterWorker> logger) : BackgroundService
{
    private readonly KafkaOptions _kafka = kafkaOptions.Value;
    private readonly AlerterOptions _options = alerterOptions.Value;

    /// <summary>How long a checkpoint waits for dead letters in flight before it holds their offsets back.</summary>
    private static readonly TimeSpan DeadLetterFlushTimeout = TimeSpan.FromSeconds(10);

    /// <summary>How often the input lag is reported to the watchdog.</summary>
    private static readonly TimeSpan LagReportInterval = TimeSpan.FromSeconds(1);

    /// <summary>Late results per topic (logged at powers of two; all are counted on /metrics).</summary>
    private readonly Dictionary<string, long> _late = new(StringComparer.Ordinal);

    /// <summary>Projection points dropped because the InfluxDB writer's buffer was full (logged at powers of two).</summary>
    private long _dropped;

    /// <inheritdoc />
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.Factory.StartNew(() => RunAsync(stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();

    private async Task RunAsync(CancellationToken stoppingToken)
    {
        var evaluator = new AlertEvaluator(slos, _options.ToEvaluatorOptions());
        var policy = new RecordPolicy(codec, _options.EventTime.ToPolicy());
        using var progress = watchdog.Register("alerter");
        var format = new AlerterCheckpointFormat(codec, _options.EvaluatorId);
        var topics = _kafka.Topics;
        string[] inputs = [topics.LatencyResults, topics.QualityResults, topics.DriftResults];
        var offsets = new Dictionary<TopicPartition, Offset>();
        foreach (var topic in inputs)
        {
            for (var p = 0; p < topics.ResultPartitions; p++)
            {
                offsets[new TopicPartition(topic, p)] = Offset.Beginning;
            }
        }

        var sequence = 0L;
        var watermarks = new GroupWatermarks(Durations.Parse(_options.LaneIdleSpan));
        (AlerterCheckpoint Checkpoint, AlerterState State)? latest;
        using (var store = new CheckpointStore(_kafka, topics.AlerterCheckpoints, _options.EvaluatorId))
        {
            latest = format.Load(store, TimeSpan.FromSeconds(30));
        }

        if (latest is { } restored)
        {
            evaluator.Restore(restored.State.Evaluator);
            restored.State.RestoreWatermarks(watermarks, topics);
            notifier.Restore(restored.State.Notifier);
            sequence = restored.Checkpoint.Sequence;
            foreach (var o in restored.Checkpoint.Offsets)
            {
                offsets[new TopicPartition(o.Topic, o.Partition)] = new Offset(o.Offset);
            }

            logger.LogInformation("Restored checkpoint {Sequence} of {EvaluatorId}: stream clock {Clock}, {Firing} alerts firing, offsets {Offsets}",
                sequence, _options.EvaluatorId, evaluator.ClockMs, evaluator.Firing.Count(), string.Join(' ', restored.Checkpoint.Offsets.Select(o => $"{o.Topic}[{o.Partition}]@{o.Offset}")));
        }
        else
        {
            logger.LogInformation("No checkpoint for {EvaluatorId}: starting from the beginning of the result topics", _options.EvaluatorId);
        }

        metrics.SetFiring(evaluator.Firing);
        using var producer = new ProducerBuilder<byte[], byte[]>(KafkaClientConfig.Producer(_kafka, _options.EvaluatorId)).Build();
        using var deadLetters = new DeadLetterPublisher(producer, topics, "alerter", codec, logger);
        var consumerConfig = KafkaClientConfig.Consumer(_kafka, _options.EvaluatorId, _options.EvaluatorId);
        consumerConfig.EnablePartitionEof = true;
        foreach (var tp in offsets.Keys)
        {
            watermarks.Expect(GroupOf(tp.Topic), Lane(tp));
        }

        using var consumer = new ConsumerBuilder<byte[], byte[]>(consumerConfig).Build();
        consumer.Assign(offsets.Select(o => new TopicPartitionOffset(o.Key, o.Value)));
        var influx = _options.WriteInflux ? services.GetService(typeof(InfluxWriter)) as InfluxWriter : null;
        readiness.MarkReady();

        var interval = Durations.Parse(_options.CheckpointInterval);
        var lastCheckpoint = DateTime.UtcNow;
        var moved = false;
        var lastLagReport = DateTime.MinValue;
        var produceFailures = 0L;
        void OnDelivery(DeliveryReport<byte[], byte[]> report)
        {
            if (report.Error.IsError)
            {
                Interlocked.Increment(ref produceFailures);
                logger.LogError("Producing to {Topic} failed: {Reason}", report.Topic, report.Error.Reason);
            }
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
            var transitions = false;
            if (result is { IsPartitionEOF: true })
            {
                watermarks.MarkCaughtUp(GroupOf(result.Topic), Lane(result.TopicPartition));
            }
            else if (result?.Message is not null)
            {
                progress.Received();
                var decoded = Decode(policy, result);
                Apply(evaluator, decoded, deadLetters);
                if (decoded.Event is not null)
                {
                    watermarks.Observe(GroupOf(result.Topic), Lane(result.TopicPartition), decoded.WindowEndMs);
                }

                offsets[result.TopicPartition] = result.Offset + 1;
                moved = true;
            }

            var output = evaluator.AdvanceTo(watermarks);
            foreach (var group in Enum.GetValues<TickGroup>())
            {
                if (watermarks.Current(group) is { } now)
                {
                    metrics.Watermark.WithLabels(group.ToString()).Set(now / 1000.0);
                }
            }

            foreach (var alert in output.Alerts)
            {
                producer.Produce(topics.Alerts, EventMessages.Create(codec, alert.AlertId, alert), OnDelivery);
                metrics.Transitions.WithLabels(alert.Kind.ToString(), alert.State.ToString()).Inc();
                logger.Log(alert.State == AlertState.FIRING ? LogLevel.Warning : LogLevel.Information,
                    "Alert {AlertId} {State} at event time {EventTime:o}: {Summary}", alert.AlertId, alert.State, DateTimeOffset.FromUnixTimeMilliseconds(alert.EventTimeMs), alert.Summary);
            }

            foreach (var status in output.Statuses)
            {
                producer.Produce(topics.SloStatus, EventMessages.Create(codec, status.Slo, status), OnDelivery);
                metrics.Record(status);
            }

            if (output.Alerts.Count > 0)
            {
                notifier.Enqueue(output.Alerts);
                metrics.SetFiring(evaluator.Firing);
                transitions = true;
            }

            if (influx is not null && output.Alerts.Count + output.Statuses.Count > 0)
            {
                Project(influx, output, deadLetters);
            }

            if (evaluator.ClockMs is { } clock)
            {
                metrics.StreamClock.Set(clock / 1000.0);
            }

            if (transitions || notifier.Dirty || ((moved || deadLetters.Retrying > 0) && DateTime.UtcNow - lastCheckpoint >= interval))
            {
                var releasable = notifier.CurrentSequence;

                // Retries failed dead letters and waits for those in flight; any still unwritten holds its offset back below.
                deadLetters.Flush(DeadLetterFlushTimeout);
                producer.Flush(stoppingToken);
                if (Interlocked.Exchange(ref produceFailures, 0) > 0)
                {
                    // Outputs since the last checkpoint may be lost: do not move the offsets past them; re-process instead.
                    throw new InvalidOperationException("Producing outputs failed; restarting from the last checkpoint.");
                }

                var state = new AlerterState { Evaluator = evaluator.Capture(), Notifier = notifier.Capture(), Lanes = watermarks.CaptureLanes(), GroupWatermarksMs = watermarks.CaptureCurrent() };
                var checkpoint = format.Build(++sequence, state, deadLetters.SafeCommitOffsets(offsets.Select(o => new TopicPartitionOffset(o.Key, o.Value))), DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
                await producer.ProduceAsync(topics.AlerterCheckpoints, EventMessages.Create(codec, _options.EvaluatorId, checkpoint), stoppingToken);
                notifier.MarkCheckpointed(releasable);
                metrics.Checkpoints.Inc();
                metrics.CheckpointBytes.Set(checkpoint.State.Length);
                logger.LogDebug("Checkpoint {Sequence} written ({Bytes} bytes)", sequence, checkpoint.State.Length);
                lastCheckpoint = DateTime.UtcNow;
                moved = false;
            }

            if (result?.Message is not null)
            {
                progress.Progressed();
            }

            if (DateTime.UtcNow - lastLagReport >= LagReportInterval)
            {
                progress.ReportLag(ConsumerLag.Of(consumer, offsets.Select(o => new TopicPartitionOffset(o.Key, o.Value))));
                lastLagReport = DateTime.UtcNow;
            }
        }
    }

    /// <summary>
    /// Queues the outputs' points without waiting and dead-letters each output with a point line protocol cannot carry
    /// (source partition and offset -1: a derived record, not a consumed one). Never throws on data.
    /// </summary>
    private void Project(InfluxWriter influx, EvaluationOutput output, DeadLetterPublisher deadLetters)
    {
        var projected = InfluxProjection.Project(output.Statuses, output.Alerts);
        var dropped = 0;
        foreach (var point in projected.Points)
        {
            if (influx.TryWrite(point))
            {
                metrics.ProjectionPoints.WithLabels("queued").Inc();
            }
            else
            {
                metrics.ProjectionPoints.WithLabels("dropped").Inc();
                dropped++;
            }
        }

        if (dropped > 0 && IsPowerOfTwo(_dropped += dropped))
        {
            logger.LogWarning("InfluxDB writer buffer full: {Dropped} projection points dropped so far (decisions are not held up; the alerts and slo-status topics keep every output)", _dropped);
        }

        foreach (var rejected in projected.Rejected)
        {
            metrics.ProjectionPoints.WithLabels("rejected").Inc();
            var (topic, payload) = rejected.Record switch
            {
                SloStatus status => (_kafka.Topics.SloStatus, codec.Serialize(status)),
                Alert alert => (_kafka.Topics.Alerts, codec.Serialize(alert)),
                _ => throw new InvalidOperationException($"Unexpected projected record {rejected.Record.GetType().Name}."),
            };
            logger.LogWarning("Output {Key} on {Topic} not (fully) projected to InfluxDB: {Detail}", rejected.Key, topic, rejected.Detail);
            deadLetters.Publish(DeadLetter.For(topic, -1, -1, System.Text.Encoding.UTF8.GetBytes(rejected.Key), payload,
                ReasonCodes.ProjectionRejected, rejected.Detail, rejected.EventTimeMs, DeadLetter.DefaultMaxPayloadBytes));
        }
    }

    /// <summary>
    /// Decodes and validates a consumed record by topic (<see cref="RecordPolicy"/>, with the record's Kafka timestamp);
    /// a valid result's window end moves its partition's watermark lane. A tombstone (no value) is neither.
    /// </summary>
    private Decoded Decode(RecordPolicy policy, ConsumeResult<byte[], byte[]> result)
    {
        var topics = _kafka.Topics;
        var value = result.Message.Value;
        if (value is null)
        {
            return new Decoded(result, null, null, long.MinValue);
        }

        long? timestamp = result.Message.Timestamp.Type == TimestampType.NotAvailable ? null : result.Message.Timestamp.UnixTimestampMs;
        if (result.Topic == topics.LatencyResults)
        {
            return Of(policy.LatencyResults(value, timestamp), r => r.WindowStartMs + r.WindowSizeMs);
        }

        if (result.Topic == topics.QualityResults)
        {
            return Of(policy.QualityResults(value, timestamp), r => r.WindowStartMs + r.WindowSizeMs);
        }

        if (result.Topic == topics.DriftResults)
        {
            return Of(policy.DriftResults(value, timestamp), r => r.WindowStartMs + r.WindowSizeMs);
        }

        return new Decoded(result, null, new Rejection(ReasonCodes.UnexpectedTopic, $"The alerter does not read {result.Topic}."), long.MinValue);

        // The policy bounds window start and size, so their sum cannot overflow.
        Decoded Of<T>(Validated<T> validated, Func<T, long> windowEnd)
            where T : class =>
            validated.TryGet(out var valid, out var rejection)
                ? new Decoded(result, valid, null, windowEnd(valid))
                : new Decoded(result, null, rejection, long.MinValue);
    }

    private static string Lane(TopicPartition tp) => $"{tp.Topic}[{tp.Partition.Value}]";

    private TickGroup GroupOf(string topic) => InputGroups.Of(_kafka.Topics, topic) ?? throw new InvalidOperationException($"The alerter does not read {topic}.");

    private static bool IsPowerOfTwo(long n) => (n & (n - 1)) == 0;

    /// <summary>Applies a decoded record to the evaluator (stores it; nothing is decided here), or dead-letters it.</summary>
    private void Apply(AlertEvaluator evaluator, Decoded input, DeadLetterPublisher deadLetters)
    {
        var topic = input.Source.Topic;
        var outcome = input.Event switch
        {
            LatencyWindowResult latency => evaluator.Apply(latency),
            QualityWindowResult quality => evaluator.Apply(quality),
            DriftWindowResult drift => evaluator.Apply(drift),
            _ => null,
        };
        if (outcome is null)
        {
            if (input.Source.Message.Value is null)
            {
                metrics.Inputs.WithLabels(topic, "tombstone").Inc();
            }
            else
            {
                metrics.Inputs.WithLabels(topic, "dead_letter").Inc();
                var rejection = input.Rejection!;
                logger.LogWarning("Result {Topic}[{Partition}]@{Offset} dead-lettered: {ReasonCode} {Detail}",
                    topic, input.Source.Partition.Value, input.Source.Offset.Value, rejection.ReasonCode, rejection.Detail);
                deadLetters.Publish(input.Source, rejection.ReasonCode, rejection.Detail, rejection.EventTimeMs);
            }

            return;
        }

        metrics.Inputs.WithLabels(topic, outcome).Inc();
        if (outcome == InputOutcome.Late && IsPowerOfTwo(_late[topic] = _late.GetValueOrDefault(topic) + 1))
        {
            // Counted from the next tick on: a replay that receives it in time can decide differently at its tick.
            logger.LogInformation("Late result #{Count} of {Topic} at [{Partition}]@{Offset}: window ending {WindowEnd:o} arrived after its tick was evaluated (stream clock {Clock:o}); it counts from the next tick on",
                _late[topic], topic, input.Source.Partition.Value, input.Source.Offset.Value, DateTimeOffset.FromUnixTimeMilliseconds(input.WindowEndMs), DateTimeOffset.FromUnixTimeMilliseconds(evaluator.ClockMs ?? 0));
        }
    }

    private sealed record Decoded(ConsumeResult<byte[], byte[]> Source, object? Event, Rejection? Rejection, long WindowEndMs);
}
