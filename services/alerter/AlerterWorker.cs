using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StreamMonitor.Alerter.Notifications;
using StreamMonitor.Contracts;
using StreamMonitor.Hosting;
using StreamMonitor.Influx;
using StreamMonitor.Kafka;
using StreamMonitor.Slo;

namespace StreamMonitor.Alerter;

/// <summary>
/// The alerter's consume-evaluate-emit loop. One instance reads every partition of the latency, quality and drift
/// result topics (assigned, not subscribed: the evaluation is global across models and needs one clock), feeds the
/// <see cref="AlertEvaluator"/> in log order, and emits alert transitions (alerts topic, keyed by alert id), SLO
/// statuses (slo-status topic, keyed by SLO) and InfluxDB points. State and input offsets are checkpointed as one
/// record: at once after any alert transition (before the notifier may deliver it), after deliveries, and at least
/// every CheckpointInterval while input moves. On start it restores the newest checkpoint and seeks to its offsets;
/// inputs after them are re-processed and re-emit identical keyed outputs.
/// </summary>
public sealed class AlerterWorker(
    IOptions<KafkaOptions> kafkaOptions,
    IOptions<AlerterOptions> alerterOptions,
    IReadOnlyList<SloDefinition> slos,
    AlertNotifier notifier,
    EventCodec codec,
    AlerterMetrics metrics,
    IReadinessGate readiness,
    IServiceProvider services,
    ILogger<AlerterWorker> logger) : BackgroundService
{
    private readonly KafkaOptions _kafka = kafkaOptions.Value;
    private readonly AlerterOptions _options = alerterOptions.Value;

    /// <inheritdoc />
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.Factory.StartNew(() => RunAsync(stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();

    private async Task RunAsync(CancellationToken stoppingToken)
    {
        var evaluator = new AlertEvaluator(slos, _options.ToEvaluatorOptions());
        var store = new CheckpointStore(_kafka, codec, _options.EvaluatorId, logger);
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
        if (store.LoadLatest(TimeSpan.FromSeconds(30)) is { } restored)
        {
            evaluator.Restore(restored.State.Evaluator);
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
        using var consumer = new ConsumerBuilder<byte[], byte[]>(consumerConfig).Build();
        consumer.Assign(offsets.Select(o => new TopicPartitionOffset(o.Key, o.Value)));
        var merge = new EventTimeMerge<Decoded>(offsets.Keys);
        var influx = _options.WriteInflux ? services.GetService(typeof(InfluxWriter)) as InfluxWriter : null;
        readiness.MarkReady();

        var interval = Durations.Parse(_options.CheckpointInterval);
        var lastCheckpoint = DateTime.UtcNow;
        var moved = false;
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
            if (result is { IsPartitionEOF: true })
            {
                merge.MarkCaughtUp(result.TopicPartition);
            }
            else if (result?.Message is not null)
            {
                var decoded = Decode(result);
                if (merge.Add(result.TopicPartition, decoded.WindowEndMs, decoded))
                {
                    consumer.Pause([result.TopicPartition]);
                }
            }

            var transitions = false;
            while (merge.TryTake(out var partition, out var next, out var resume))
            {
                if (resume)
                {
                    consumer.Resume([partition]);
                }

                var output = Evaluate(evaluator, next, deadLetters);
                offsets[partition] = next.Source.Offset + 1;
                moved = true;
                if (output is null)
                {
                    continue;
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

                if (influx is not null)
                {
                    await influx.WriteAsync(output.Statuses.SelectMany(InfluxProjection.Points).Concat(output.Alerts.Select(InfluxProjection.Point)), stoppingToken);
                }

                if (output.Alerts.Count > 0)
                {
                    notifier.Enqueue(output.Alerts);
                    metrics.SetFiring(evaluator.Firing);
                    transitions = true;
                }

                if (evaluator.ClockMs is { } clock)
                {
                    metrics.StreamClock.Set(clock / 1000.0);
                }
            }

            if (transitions || notifier.Dirty || (moved && DateTime.UtcNow - lastCheckpoint >= interval))
            {
                var releasable = notifier.CurrentSequence;
                producer.Flush(stoppingToken);
                if (Interlocked.Exchange(ref produceFailures, 0) > 0)
                {
                    // Outputs since the last checkpoint may be lost: do not move the offsets past them; re-process instead.
                    throw new InvalidOperationException("Producing outputs failed; restarting from the last checkpoint.");
                }

                var state = new AlerterState { Evaluator = evaluator.Capture(), Notifier = notifier.Capture() };
                var checkpoint = store.Build(++sequence, state, offsets.Select(o => new TopicPartitionOffset(o.Key, o.Value)), DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
                await producer.ProduceAsync(topics.AlerterCheckpoints, EventMessages.Create(codec, _options.EvaluatorId, checkpoint), stoppingToken);
                notifier.MarkCheckpointed(releasable);
                metrics.Checkpoints.Inc();
                metrics.CheckpointBytes.Set(checkpoint.State.Length);
                logger.LogDebug("Checkpoint {Sequence} written ({Bytes} bytes)", sequence, checkpoint.State.Length);
                lastCheckpoint = DateTime.UtcNow;
                moved = false;
            }
        }
    }

    /// <summary>Decodes a consumed record by topic; the window end orders it in the merge.</summary>
    private Decoded Decode(ConsumeResult<byte[], byte[]> result)
    {
        var topics = _kafka.Topics;
        var value = result.Message.Value;
        if (value is null)
        {
            return new Decoded(result, null, null, long.MinValue);
        }

        EventDecodeException? error = null;
        if (result.Topic == topics.LatencyResults && codec.TryDeserialize<LatencyWindowResult>(value, out var latency, out error))
        {
            return new Decoded(result, latency, null, latency!.WindowStartMs + latency.WindowSizeMs);
        }

        if (result.Topic == topics.QualityResults && codec.TryDeserialize<QualityWindowResult>(value, out var quality, out error))
        {
            return new Decoded(result, quality, null, quality!.WindowStartMs + quality.WindowSizeMs);
        }

        if (result.Topic == topics.DriftResults && codec.TryDeserialize<DriftWindowResult>(value, out var drift, out error))
        {
            return new Decoded(result, drift, null, drift!.WindowStartMs + drift.WindowSizeMs);
        }

        return new Decoded(result, null, error, long.MinValue);
    }

    private EvaluationOutput? Evaluate(AlertEvaluator evaluator, Decoded input, DeadLetterPublisher deadLetters)
    {
        var topic = input.Source.Topic;
        EvaluationOutput? output = input.Event switch
        {
            LatencyWindowResult latency => evaluator.Observe(latency),
            QualityWindowResult quality => evaluator.Observe(quality),
            DriftWindowResult drift => evaluator.Observe(drift),
            _ => null,
        };
        if (output is null)
        {
            if (input.Source.Message.Value is null)
            {
                metrics.Inputs.WithLabels(topic, "tombstone").Inc();
            }
            else
            {
                metrics.Inputs.WithLabels(topic, "dead_letter").Inc();
                if (input.Error is not null)
                {
                    deadLetters.Publish(input.Source, input.Error);
                }
                else
                {
                    deadLetters.Publish(input.Source, "UNEXPECTED_TOPIC", $"The alerter does not read {topic}.");
                }
            }

            return null;
        }

        metrics.Inputs.WithLabels(topic, output.Ignored.Count > 0 ? output.Ignored[0] : "applied").Inc();
        return output;
    }

    private sealed record Decoded(ConsumeResult<byte[], byte[]> Source, object? Event, EventDecodeException? Error, long WindowEndMs);
}
