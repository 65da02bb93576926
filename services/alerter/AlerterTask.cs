using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using StreamMonitor.Alerter.Notifications;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.Validation;
using StreamMonitor.Kafka;
using StreamMonitor.Slo;
using StreamMonitor.Streams;

namespace StreamMonitor.Alerter;

/// <summary>What an <see cref="AlerterTask"/> works with besides its checkpointed state.</summary>
/// <param name="Evaluator">Decides alerts and SLO statuses.</param>
/// <param name="Watermarks">The tick groups' watermarks the evaluator is advanced to.</param>
/// <param name="Topics">Topic names.</param>
/// <param name="Policy">Decodes and validates results.</param>
/// <param name="Codec">Encodes outputs.</param>
/// <param name="Notifier">Delivers alert transitions once they are checkpointed.</param>
/// <param name="DeadLetters">Dead-letters refused results.</param>
/// <param name="Metrics">The alerter's metrics.</param>
/// <param name="CheckpointInterval">How long retrying dead letters may wait for a checkpoint to retry them.</param>
/// <param name="Logger">Logs decisions and refusals.</param>
public sealed record AlerterTaskContext(AlertEvaluator Evaluator, GroupWatermarks Watermarks, TopicCatalog Topics, RecordPolicy Policy, EventCodec Codec, AlertNotifier Notifier, DeadLetterPublisher DeadLetters, AlerterMetrics Metrics, TimeSpan CheckpointInterval, ILogger Logger);

/// <summary>
/// The alerter's one task over every partition of the latency, quality and drift result topics, run by the
/// <see cref="TaskRunner"/> in arrival order (<see cref="AlerterLayout"/>): each record is applied to the
/// <see cref="AlertEvaluator"/> (stored by window) as it arrives, and the evaluator is advanced to the watermark of each
/// tick group (<see cref="GroupWatermarks"/>: a group waits only for the partitions of the topic it reads), which
/// evaluates in window order every tick of the group its watermark passed by the allowed lateness; so the decisions do
/// not depend on how the partitions interleave. It emits alert transitions (alerts topic, keyed by alert id) and SLO
/// statuses (slo-status topic, keyed by SLO), and asks for a checkpoint at once after any alert
/// transition (before the notifier may deliver it) and after deliveries.
/// </summary>
/// <remarks>
/// <para>Every input goes through the one <see cref="RecordPolicy"/> (decode and validate, event time against the
/// record's Kafka timestamp): a record it refuses, or one on a topic the alerter does not read, becomes exactly one
/// dead letter with its reason code and never reaches the evaluator or the watermark.</para>
/// <para>InfluxDB is not written here: the <see cref="AlerterProjector"/> projects the alerts and slo-status topics as
/// a consumer of its own, so an InfluxDB outage never delays a decision.</para>
/// </remarks>
public sealed class AlerterTask : IPartitionTask
{
    /// <summary>How long a checkpoint waits for dead letters in flight before it holds their offsets back.</summary>
    private static readonly TimeSpan DeadLetterFlushTimeout = TimeSpan.FromSeconds(10);

    private readonly AlertEvaluator _evaluator;
    private readonly GroupWatermarks _watermarks;
    private readonly AlerterTaskContext _context;

    /// <summary>Late results per topic (logged at powers of two; all are counted on /metrics).</summary>
    private readonly Dictionary<string, long> _late = new(StringComparer.Ordinal);

    /// <summary>Alert transitions emitted since the last checkpoint: their notifications wait for one.</summary>
    private bool _transitions;

    /// <summary>The notifier's sequence at the last snapshot: what its checkpoint releases for delivery.</summary>
    private long _releasable;

    private DateTime _lastCheckpoint = DateTime.UtcNow;

    /// <summary>Creates the task over <paramref name="lanes"/>, restored from <paramref name="state"/> when there is one.</summary>
    public AlerterTask(IEnumerable<TopicPartition> lanes, AlerterState? state, AlerterTaskContext context)
    {
        ArgumentNullException.ThrowIfNull(lanes);
        _context = context ?? throw new ArgumentNullException(nameof(context));
        (_evaluator, _watermarks) = (context.Evaluator, context.Watermarks);
        if (state is not null)
        {
            _evaluator.Restore(state.Evaluator);
            state.RestoreWatermarks(_watermarks, context.Topics);
            context.Notifier.Restore(state.Notifier);
        }

        foreach (var lane in lanes)
        {
            _watermarks.Expect(GroupOf(lane.Topic), Lane(lane));
        }

        context.Metrics.SetFiring(_evaluator.Firing);
    }

    /// <inheritdoc />
    public long StreamTime => _evaluator.ClockMs ?? long.MinValue;

    /// <inheritdoc />
    public bool CheckpointDue => _transitions || _context.Notifier.Dirty
        || (_context.DeadLetters.Retrying > 0 && DateTime.UtcNow - _lastCheckpoint >= _context.CheckpointInterval);

    /// <inheritdoc />
    public void Process(ConsumeResult<byte[], byte[]> record, ITaskOutput output)
    {
        ArgumentNullException.ThrowIfNull(record);
        var decoded = Decode(record);
        Apply(decoded);
        if (decoded.Event is not null)
        {
            _watermarks.Observe(GroupOf(record.Topic), Lane(record.TopicPartition), decoded.WindowEndMs);
        }

        Advance(output);
    }

    /// <inheritdoc />
    public void OnLaneEnd(TopicPartition partition, ITaskOutput output)
    {
        ArgumentNullException.ThrowIfNull(partition);
        _watermarks.MarkCaughtUp(GroupOf(partition.Topic), Lane(partition));
        Advance(output);
    }

    /// <inheritdoc />
    public void OnIdle(long watermarkMs, ITaskOutput output)
    {
        // Decisions follow the tick groups' watermarks, which only data moves (Process, OnLaneEnd): nothing to do.
    }

    /// <inheritdoc />
    public byte[] Snapshot()
    {
        _releasable = _context.Notifier.CurrentSequence;

        // Retries failed dead letters and waits for those in flight; any still unwritten holds its offset back
        // (AlerterLayout.Encode).
        _context.DeadLetters.Flush(DeadLetterFlushTimeout);
        var state = new AlerterState { Evaluator = _evaluator.Capture(), Notifier = _context.Notifier.Capture(), Lanes = _watermarks.CaptureLanes(), GroupWatermarksMs = _watermarks.CaptureCurrent() };
        var bytes = AlerterCheckpointFormat.WriteState(state);
        _context.Metrics.CheckpointBytes.Set(bytes.Length);
        return bytes;
    }

    /// <inheritdoc />
    public void OnCheckpointed()
    {
        _context.Notifier.MarkCheckpointed(_releasable);
        _context.Metrics.Checkpoints.Inc();
        _transitions = false;
        _lastCheckpoint = DateTime.UtcNow;
    }

    /// <summary>The alerter's name of an input partition, "topic[partition]" (a watermark lane).</summary>
    public static string Lane(TopicPartition tp)
    {
        ArgumentNullException.ThrowIfNull(tp);
        return $"{tp.Topic}[{tp.Partition.Value}]";
    }

    /// <summary>Evaluates every tick the watermarks allow and emits its outputs.</summary>
    private void Advance(ITaskOutput output)
    {
        var (topics, codec, metrics) = (_context.Topics, _context.Codec, _context.Metrics);
        var evaluated = _evaluator.AdvanceTo(_watermarks);
        foreach (var group in Enum.GetValues<TickGroup>())
        {
            if (_watermarks.Current(group) is { } now)
            {
                metrics.Watermark.WithLabels(group.ToString()).Set(now / 1000.0);
            }
        }

        foreach (var alert in evaluated.Alerts)
        {
            var message = EventMessages.Create(codec, alert.AlertId, alert);
            output.Send(topics.Alerts, null, message.Key, message.Value);
            metrics.Transitions.WithLabels(alert.Kind.ToString(), alert.State.ToString()).Inc();
            _context.Logger.Log(alert.State == AlertState.FIRING ? LogLevel.Warning : LogLevel.Information,
                "Alert {AlertId} {State} at event time {EventTime:o}: {Summary}", alert.AlertId, alert.State, DateTimeOffset.FromUnixTimeMilliseconds(alert.EventTimeMs), alert.Summary);
        }

        foreach (var status in evaluated.Statuses)
        {
            var message = EventMessages.Create(codec, status.Slo, status);
            output.Send(topics.SloStatus, null, message.Key, message.Value);
            metrics.Record(status);
        }

        if (evaluated.Alerts.Count > 0)
        {
            _context.Notifier.Enqueue(evaluated.Alerts);
            metrics.SetFiring(_evaluator.Firing);
            _transitions = true;
        }

        if (_evaluator.ClockMs is { } clock)
        {
            metrics.StreamClock.Set(clock / 1000.0);
        }
    }

    /// <summary>
    /// Decodes and validates a consumed record by topic (<see cref="RecordPolicy"/>, with the record's Kafka timestamp);
    /// a valid result's window end moves its partition's watermark lane. A tombstone (no value) is neither.
    /// </summary>
    private Decoded Decode(ConsumeResult<byte[], byte[]> result)
    {
        var (topics, policy) = (_context.Topics, _context.Policy);
        var value = result.Message.Value;
        if (value is null)
        {
            return new Decoded(result, null, null, long.MinValue);
        }

        long? timestamp = result.Message.Timestamp.Type == TimestampType.NotAvailable ? null : result.Message.Timestamp.UnixTimestampMs;
        if (result.Topic == topics.LatencyResults)
        {
            return Of(policy.LatencyResults(value, timestamp));
        }

        if (result.Topic == topics.QualityResults)
        {
            return Of(policy.QualityResults(value, timestamp));
        }

        if (result.Topic == topics.DriftResults)
        {
            return Of(policy.DriftResults(value, timestamp));
        }

        return new Decoded(result, null, new Rejection(ReasonCodes.UnexpectedTopic, $"The alerter does not read {result.Topic}."), long.MinValue);

        Decoded Of<T>(Validated<T> validated)
            where T : class, IWindowResult =>
            validated.TryGet(out var valid, out var rejection)
                ? new Decoded(result, valid, null, valid.WindowEndMs())
                : new Decoded(result, null, rejection, long.MinValue);
    }

    /// <summary>Applies a decoded record to the evaluator (stores it; nothing is decided here), or dead-letters it.</summary>
    private void Apply(Decoded input)
    {
        var metrics = _context.Metrics;
        var topic = input.Source.Topic;
        var outcome = input.Event switch
        {
            LatencyWindowResult latency => _evaluator.Apply(latency),
            QualityWindowResult quality => _evaluator.Apply(quality),
            DriftWindowResult drift => _evaluator.Apply(drift),
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
                _context.Logger.LogWarning("Result {Topic}[{Partition}]@{Offset} dead-lettered: {ReasonCode} {Detail}",
                    topic, input.Source.Partition.Value, input.Source.Offset.Value, rejection.ReasonCode, rejection.Detail);
                _context.DeadLetters.Publish(input.Source, rejection.ReasonCode, rejection.Detail, rejection.EventTimeMs);
            }

            return;
        }

        metrics.Inputs.WithLabels(topic, outcome).Inc();
        if (outcome == InputOutcome.Late && IsPowerOfTwo(_late[topic] = _late.GetValueOrDefault(topic) + 1))
        {
            // Counted from the next tick on: a replay that receives it in time can decide differently at its tick.
            _context.Logger.LogInformation("Late result #{Count} of {Topic} at [{Partition}]@{Offset}: window ending {WindowEnd:o} arrived after its tick was evaluated (stream clock {Clock:o}); it counts from the next tick on",
                _late[topic], topic, input.Source.Partition.Value, input.Source.Offset.Value, DateTimeOffset.FromUnixTimeMilliseconds(input.WindowEndMs), DateTimeOffset.FromUnixTimeMilliseconds(_evaluator.ClockMs ?? 0));
        }
    }

    private TickGroup GroupOf(string topic) => InputGroups.Of(_context.Topics, topic) ?? throw new InvalidOperationException($"The alerter does not read {topic}.");

    private static bool IsPowerOfTwo(long n) => (n & (n - 1)) == 0;

    private sealed record Decoded(ConsumeResult<byte[], byte[]> Source, object? Event, Rejection? Rejection, long WindowEndMs);
}
