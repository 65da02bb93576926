using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.Validation;
using StreamMonitor.Hosting;
using StreamMonitor.Kafka;
using StreamMonitor.Models.Inference;

namespace StreamMonitor.Scorer;

/// <summary>
/// The streaming scorer: one dedicated thread consumes feature events, decodes them and validates them once with
/// the one record policy (identifiers, event time against the record's Kafka timestamp), fills their features
/// straight into the pinned input tensor of their model, dispatches micro-batches (full at once, partial after the queue delay,
/// the rest on drain), runs ONNX Runtime, and hands one prediction per event to the producer. Offsets are
/// committed per partition only up to the contiguous prefix whose predictions (and dead letters) the cluster has
/// acknowledged, so a kill -9 loses nothing; a restart re-scores at most the unacknowledged tail (same event ids).
/// New model versions are taken between batches only, so in each partition the version switches at one offset.
/// A record that cannot be scored gets exactly one dead letter (the scorer owns the features topic's dead letters)
/// and one ERROR prediction. The scorer consumes once every model has been looked for and at least one serves: a
/// model that failed to load never blocks the others, and its events get MODEL_UNAVAILABLE errors until it loads.
/// The parts: <see cref="ModelSlots"/> (versions in service), <see cref="BatchDispatcher"/> and
/// <see cref="ShadowScorer"/> (running batches), <see cref="PredictionPublisher"/> (predictions and dead letters),
/// <see cref="OffsetCommitter"/> (safe offsets); timing is measured by <see cref="PredictionClock"/> alone.
/// </summary>
public sealed partial class ScorerWorker : BackgroundService
{
    private const string ServiceName = "scorer";

    private readonly ScorerOptions _options;
    private readonly KafkaOptions _kafka;
    private readonly ModelRegistry _registry;
    private readonly ScorerMetrics _metrics;
    private readonly IReadinessGate _readiness;
    private readonly ILogger<ScorerWorker> _logger;
    private readonly EventCodec _codec = new();
    private readonly FeatureEventDecoder _decoder;
    private readonly RecordPolicy _policy;
    private readonly OffsetTracker _tracker = new();
    private readonly ModelSlots _slots;
    private readonly string _instanceId;
    private readonly long _commitIntervalTicks;
    private readonly ProgressWatchdog _watchdog;
    private PredictionPublisher? _publisher;
    private BatchDispatcher? _dispatcher;
    private OffsetCommitter? _committer;
    private LoopProgress? _progress;
    private long _lastCommitTicks;

    /// <summary>Creates the worker.</summary>
    public ScorerWorker(IOptions<ScorerOptions> options, IOptions<KafkaOptions> kafka, ModelRegistry registry, ScorerMetrics metrics,
        IReadinessGate readiness, ServiceIdentity identity, ProgressWatchdog watchdog, ILogger<ScorerWorker> logger)
    {
        ArgumentNullException.ThrowIfNull(watchdog);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(kafka);
        ArgumentNullException.ThrowIfNull(identity);
        _options = options.Value;
        _kafka = kafka.Value;
        _registry = registry;
        _metrics = metrics;
        _readiness = readiness;
        _watchdog = watchdog;
        _logger = logger;
        _instanceId = string.IsNullOrWhiteSpace(_options.InstanceId) ? identity.InstanceId : _options.InstanceId;
        _decoder = new FeatureEventDecoder(_codec);
        _policy = new RecordPolicy(_codec, _options.EventTime.ToPolicy());
        // Offsets are stored at a tenth of the commit interval so that auto-commit always has a recent position.
        _commitIntervalTicks = Math.Max(1, _options.CommitInterval.Ticks * System.Diagnostics.Stopwatch.Frequency / (10 * TimeSpan.TicksPerSecond));
        _slots = new ModelSlots(_options, registry, metrics, readiness, logger);
    }

    /// <inheritdoc />
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.Factory.StartNew(() => Run(stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private void Run(CancellationToken stoppingToken)
    {
        IProducer<byte[], byte[]>? producer = null;
        IConsumer<byte[], byte[]>? consumer = null;
        try
        {
            _slots.WaitUntilServing(stoppingToken);
            if (stoppingToken.IsCancellationRequested)
            {
                return;
            }

            producer = new ProducerBuilder<byte[], byte[]>(KafkaClientConfig.Producer(_kafka, _instanceId)).Build();
            var deadLetters = new DeadLetterPublisher(producer, _kafka.Topics, ServiceName, _codec, _logger);
            var encoder = new PredictionEncoder(_codec);
            _publisher = new PredictionPublisher(producer, _kafka.Topics, encoder, _tracker, _metrics, deadLetters, _policy, _slots, _instanceId, _logger);
            _dispatcher = new BatchDispatcher(_publisher, new ShadowScorer(_publisher, _logger), _logger);
            LogWarmedUp(_logger, ScoringWarmUp.Run(_slots, producer, _kafka.Topics.Predictions, _codec, _decoder, _policy, _publisher, encoder, _logger));
            var consumerConfig = KafkaClientConfig.Consumer(_kafka, _options.ConsumerGroup, _instanceId);
            if (!_kafka.Client.ContainsKey("fetch.wait.max.ms"))
            {
                consumerConfig.FetchWaitMaxMs = (int)_options.FetchWaitMax.TotalMilliseconds;
            }

            // Offsets are stored only once acknowledged (OffsetCommitter); librdkafka commits stored offsets in the
            // background, so the scoring loop never blocks on a commit round trip.
            consumerConfig.EnableAutoCommit = true;
            consumerConfig.AutoCommitIntervalMs = (int)_options.CommitInterval.TotalMilliseconds;
            consumer = new ConsumerBuilder<byte[], byte[]>(consumerConfig)
                .SetPartitionsAssignedHandler((_, partitions) =>
                {
                    LogAssigned(_logger, string.Join(",", partitions.Select(p => p.Partition.Value)));
                    _readiness.MarkReady();
                })
                .SetPartitionsRevokedHandler((_, partitions) => OnRevoked(partitions.Select(p => p.TopicPartition).ToList()))
                .SetPartitionsLostHandler((_, partitions) => _committer!.Forget(partitions.Select(p => p.TopicPartition).ToList()))
                .Build();
            _committer = new OffsetCommitter(consumer, producer, _publisher, deadLetters, _tracker, _metrics, _logger);
            consumer.Subscribe(_kafka.Topics.Features);
            using var progress = _watchdog.Register("scorer");
            _progress = progress;
            // Ready once the group has given this consumer its partitions (possibly none, with more scorers than
            // partitions): events produced before then wait in Kafka for the join, and then reach the scorer all at
            // once, so a client that starts its traffic on /readyz would see that wait as latency.
            _readiness.MarkNotReady($"joining consumer group {_options.ConsumerGroup}");
            LogStarted(_logger, _kafka.Topics.Features, _options.ConsumerGroup, _instanceId, _options.BatchSize, Durations.Format(_options.QueueDelay));
            Loop(consumer, stoppingToken);
            _readiness.MarkNotReady("stopping");
            DrainAll();
            _committer.Commit(force: true);
            consumer.Close();
        }
        catch (Exception ex) when (ex is KafkaException or InvalidOperationException)
        {
            _readiness.MarkNotReady("failed: " + ex.Message);
            LogFatal(_logger, ex);
            throw;
        }
        finally
        {
            consumer?.Dispose();
            producer?.Dispose();
            _slots.Dispose();
        }
    }

    private void Loop(IConsumer<byte[], byte[]> consumer, CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            _publisher!.RetryFailedDeliveries();
            _slots.AdoptOffered();
            _slots.PublishStates();
            var now = PredictionClock.Now;
            var deadline = long.MaxValue;
            var onlyWaiting = false;
            foreach (var slot in _slots.All)
            {
                deadline = Math.Min(deadline, slot.Batcher.DeadlineTicks);
                onlyWaiting |= slot.Batcher.WantsOnlyWaitingRows;
            }

            var frequency = System.Diagnostics.Stopwatch.Frequency;
            var waitMs = deadline == long.MaxValue ? 100 : (int)Math.Clamp(((deadline - now) * 1000 + frequency - 1) / frequency, 0, 100);

            // With rows waiting, only look at what the client has already fetched: nothing there means the engine
            // would idle for the rest of the delay, so the batch leaves now.
            ConsumeResult<byte[], byte[]>? record;
            try
            {
                record = consumer.Consume(onlyWaiting ? 0 : waitMs);
            }
            catch (ConsumeException ex)
            {
                LogConsumeError(_logger, ex.Error.Reason);
                continue;
            }

            if (record is { IsPartitionEOF: false, Message: not null })
            {
                _progress!.Received();
                Handle(record);
            }

            now = PredictionClock.Now;
            var nothingWaiting = onlyWaiting && record is (null or { IsPartitionEOF: true });
            foreach (var slot in _slots.All)
            {
                if (slot.Batcher.Due(now, nothingWaiting) is { } reason)
                {
                    _dispatcher!.Dispatch(slot, reason);
                }
            }

            if (now - _lastCommitTicks >= _commitIntervalTicks)
            {
                _lastCommitTicks = now;
                _committer!.Commit(force: false);
                _committer.UpdateLag(_progress!);
            }

            // An iteration that ends has handled its record and dispatched what was due: a hang in decoding,
            // inference or publishing never gets here, and /healthz turns red while records wait.
            _progress!.Progressed();
        }
    }

    /// <summary>Decodes, validates and fills one record into its model's batch, or rejects it.</summary>
    private void Handle(ConsumeResult<byte[], byte[]> record)
    {
        var context = new RecordContext(record, PredictionClock.Now, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        _tracker.Consumed(record.TopicPartition, record.Offset.Value);
        var publisher = _publisher!;
        if (record.Message.Value is not { Length: > 0 } value)
        {
            publisher.Reject(context, null, new Rejection(ReasonCodes.EmptyRecord, "The record has no value; a FeatureEvent was expected."));
            return;
        }

        if (!_decoder.TryDecode(value, out var featureEvent, out var decodeError))
        {
            publisher.Reject(context, null, Rejection.Of(decodeError!));
            return;
        }

        if (!_policy.Validate(featureEvent!, context.RecordTimestampMs).TryGet(out _, out var rejection))
        {
            publisher.Reject(context, featureEvent, rejection);
            return;
        }

        if (!_slots.TryGet(featureEvent!.ModelName, out var slot))
        {
            publisher.Reject(context, featureEvent, new Rejection(ReasonCodes.UnknownModel, "The model is not served by this scorer."));
            return;
        }

        if (slot.Current is not { } model)
        {
            publisher.Reject(context, featureEvent, _slots.Unavailable(slot));
            return;
        }

        var index = slot.Batcher.Count;
        if (model.Validator.Fill(featureEvent, model.Session, index) is { } invalid)
        {
            publisher.Reject(context, featureEvent, new Rejection(invalid.Code, invalid.Detail));
            return;
        }

        var enqueueTicks = PredictionClock.Now;
        slot.Batcher.Add(enqueueTicks);
        slot.Rows[index].Set(featureEvent, context, enqueueTicks);
        if (slot.Batcher.IsFull)
        {
            _dispatcher!.Dispatch(slot, DispatchReason.FULL);
        }
    }

    private void DrainAll()
    {
        foreach (var slot in _slots.All)
        {
            _dispatcher!.Dispatch(slot, DispatchReason.DRAIN);
        }
    }

    private void OnRevoked(List<TopicPartition> partitions)
    {
        // Score what is waiting, get it acknowledged and commit it, so the next owner starts where this one ends.
        DrainAll();
        _committer!.Commit(force: true);
        _committer.Forget(partitions);
        LogRevoked(_logger, string.Join(",", partitions.Select(p => p.Partition.Value)));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Scorer {InstanceId} consuming {Topic} in group {Group}: batch {BatchSize} rows, queue delay {QueueDelay}")]
    private static partial void LogStarted(ILogger logger, string topic, string group, string instanceId, int batchSize, string queueDelay);

    [LoggerMessage(Level = LogLevel.Information, Message = "Warmed up the scoring path of the models in service in {Milliseconds} ms")]
    private static partial void LogWarmedUp(ILogger logger, double milliseconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Assigned partitions {Partitions}")]
    private static partial void LogAssigned(ILogger logger, string partitions);

    [LoggerMessage(Level = LogLevel.Information, Message = "Revoked partitions {Partitions} after draining and committing")]
    private static partial void LogRevoked(ILogger logger, string partitions);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Consume error: {Reason}")]
    private static partial void LogConsumeError(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Scorer stopped on an unrecoverable error")]
    private static partial void LogFatal(ILogger logger, Exception ex);
}
