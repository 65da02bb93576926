using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.ML.OnnxRuntime;
using Prometheus;
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
/// </summary>
public sealed partial class ScorerWorker : BackgroundService
{
    private const string ServiceName = "scorer";
    private static readonly TimeSpan FlushTimeout = TimeSpan.FromSeconds(10);

    private readonly ScorerOptions _options;
    private readonly KafkaOptions _kafka;
    private readonly ModelRegistry _registry;
    private readonly ScorerMetrics _metrics;
    private readonly IReadinessGate _readiness;
    private readonly ILogger<ScorerWorker> _logger;
    private readonly EventCodec _codec = new();
    private readonly PredictionEncoder _encoder;
    private readonly FeatureEventDecoder _decoder;
    private readonly RecordPolicy _policy;
    private readonly OffsetTracker _tracker = new();
    private readonly ConcurrentQueue<(Message<byte[], byte[]> Message, TopicPartition Source, long Offset)> _retries = new();
    private readonly Dictionary<string, ModelSlot> _slots = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ModelSlot> _slotsByShadow = new(StringComparer.Ordinal);
    private readonly string _instanceId;
    private readonly long _queueDelayTicks;
    private readonly long _commitIntervalTicks;
    private IProducer<byte[], byte[]>? _producer;
    private IConsumer<byte[], byte[]>? _consumer;
    private readonly ProgressWatchdog _watchdog;

    // Committable offsets not yet stored because a dead letter below them is not written yet; offered again at every
    // commit, so a partition's offset catches up as soon as its dead letters are acknowledged.
    private readonly Dictionary<TopicPartition, Offset> _toCommit = [];
    private DeadLetterPublisher? _deadLetters;
    private LoopProgress? _progress;
    private long _batchCounter;
    private long _lastCommitTicks;
    private int _publishedGeneration = -1;
    private bool _servingChanged = true;

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
        _encoder = new PredictionEncoder(_codec);
        _decoder = new FeatureEventDecoder(_codec);
        _policy = new RecordPolicy(_codec, _options.EventTime.ToPolicy());
        _queueDelayTicks = _options.QueueDelayMs * Stopwatch.Frequency / 1000;
        // Offsets are stored at a tenth of the commit interval so that auto-commit always has a recent position.
        _commitIntervalTicks = Math.Max(1, _options.CommitIntervalMs * Stopwatch.Frequency / 10_000);
        foreach (var name in _options.Models)
        {
            var slot = new ModelSlot(name, _options.BatchSize, _queueDelayTicks, _options.DispatchWhenIdle, metrics, _options.Shadows.GetValueOrDefault(name));
            _slots[name] = slot;
            if (slot.ShadowName is { } shadowName)
            {
                _slotsByShadow[shadowName] = slot;
            }
        }

        foreach (var name in registry.AllNames)
        {
            metrics.ModelAvailable(name, available: false);
        }
    }

    /// <inheritdoc />
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.Factory.StartNew(() => Run(stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private void Run(CancellationToken stoppingToken)
    {
        try
        {
            WaitForModels(stoppingToken);
            if (stoppingToken.IsCancellationRequested)
            {
                return;
            }

            _producer = new ProducerBuilder<byte[], byte[]>(KafkaClientConfig.Producer(_kafka, _instanceId)).Build();
            _deadLetters = new DeadLetterPublisher(_producer, _kafka.Topics, ServiceName, _codec, _logger);
            WarmUpScoringPath();
            var consumerConfig = KafkaClientConfig.Consumer(_kafka, _options.ConsumerGroup, _instanceId);
            // Offsets are stored only once acknowledged (see Commit); librdkafka commits stored offsets in the
            // background, so the scoring loop never blocks on a commit round trip. Revocation and shutdown commit
            // synchronously.
            if (!_kafka.Client.ContainsKey("fetch.wait.max.ms"))
            {
                consumerConfig.FetchWaitMaxMs = _options.FetchWaitMaxMs;
            }

            consumerConfig.EnableAutoCommit = true;
            consumerConfig.AutoCommitIntervalMs = _options.CommitIntervalMs;
            _consumer = new ConsumerBuilder<byte[], byte[]>(consumerConfig)
                .SetPartitionsAssignedHandler((_, partitions) => LogAssigned(_logger, string.Join(",", partitions.Select(p => p.Partition.Value))))
                .SetPartitionsRevokedHandler((_, partitions) => OnRevoked(partitions.Select(p => p.TopicPartition).ToList()))
                .SetPartitionsLostHandler((_, partitions) => Forget(partitions.Select(p => p.TopicPartition).ToList()))
                .Build();
            _consumer.Subscribe(_kafka.Topics.Features);
            using var progress = _watchdog.Register("scorer");
            _progress = progress;
            _readiness.MarkReady();
            LogStarted(_logger, _kafka.Topics.Features, _options.ConsumerGroup, _instanceId, _options.BatchSize, _options.QueueDelayMs);
            Loop(stoppingToken);
            _readiness.MarkNotReady("stopping");
            DrainAll();
            Commit(force: true);
            _consumer.Close();
        }
        catch (Exception ex) when (ex is KafkaException or InvalidOperationException)
        {
            _readiness.MarkNotReady("failed: " + ex.Message);
            LogFatal(_logger, ex);
            throw;
        }
        finally
        {
            _consumer?.Dispose();
            _producer?.Dispose();
            foreach (var slot in _slots.Values)
            {
                slot.Dispose();
            }
        }
    }

    /// <summary>
    /// Waits until every model has been looked for in the store (so no model's events are refused only because its
    /// load had not finished yet) and at least one served model has a version in service.
    /// </summary>
    private void WaitForModels(CancellationToken stoppingToken)
    {
        _readiness.MarkNotReady("loading models");
        while (!stoppingToken.IsCancellationRequested)
        {
            // Read first: every version offered before it reads true is adopted just below.
            var attempted = _registry.AllAttempted;
            AdoptOfferedModels();
            PublishModelStates();
            if (attempted && _slots.Values.Any(s => s.Current is not null))
            {
                var unavailable = _slots.Values.Where(s => s.Current is null).Select(s => s.Name).ToArray();
                if (unavailable.Length > 0)
                {
                    LogStartingWithout(_logger, string.Join(",", unavailable));
                }

                return;
            }

            _readiness.MarkNotReady(attempted ? "no served model has a version that loads" : "loading models");
            stoppingToken.WaitHandle.WaitOne(100);
        }
    }

    private void Loop(CancellationToken stoppingToken)
    {
        var consumer = _consumer!;
        while (!stoppingToken.IsCancellationRequested)
        {
            RetryFailedDeliveries();
            AdoptOfferedModels();
            PublishModelStates();
            var now = Stopwatch.GetTimestamp();
            var deadline = long.MaxValue;
            var onlyWaiting = false;
            foreach (var slot in _slots.Values)
            {
                deadline = Math.Min(deadline, slot.Batcher.DeadlineTicks);
                onlyWaiting |= slot.Batcher.WantsOnlyWaitingRows;
            }

            var waitMs = deadline == long.MaxValue ? 100 : (int)Math.Clamp(((deadline - now) * 1000 + Stopwatch.Frequency - 1) / Stopwatch.Frequency, 0, 100);

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

            now = Stopwatch.GetTimestamp();
            var nothingWaiting = onlyWaiting && record is (null or { IsPartitionEOF: true });
            foreach (var slot in _slots.Values)
            {
                if (slot.Batcher.Due(now, nothingWaiting) is { } reason)
                {
                    Dispatch(slot, reason);
                }
            }

            if (now - _lastCommitTicks >= _commitIntervalTicks)
            {
                Commit(force: false);
                UpdateLag();
            }

            // An iteration that ends has handled its record and dispatched what was due: a hang in decoding,
            // inference or publishing never gets here, and /healthz turns red while records wait.
            _progress!.Progressed();
        }
    }

    private void Handle(ConsumeResult<byte[], byte[]> record)
    {
        var consumeTicks = Stopwatch.GetTimestamp();
        var consumedAtMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        _tracker.Consumed(record.TopicPartition, record.Offset.Value);
        var context = new RecordContext(record, consumeTicks, consumedAtMs);
        if (record.Message.Value is not { Length: > 0 } value)
        {
            Reject(context, null, new Rejection(ReasonCodes.EmptyRecord, "The record has no value; a FeatureEvent was expected."));
            return;
        }

        if (!_decoder.TryDecode(value, out var featureEvent, out var decodeError))
        {
            Reject(context, null, Rejection.Of(decodeError!));
            return;
        }

        if (!_policy.Validate(featureEvent!, context.RecordTimestampMs).TryGet(out _, out var rejection))
        {
            Reject(context, featureEvent, rejection);
            return;
        }

        if (!_slots.TryGetValue(featureEvent!.ModelName, out var slot))
        {
            Reject(context, featureEvent, new Rejection(ReasonCodes.UnknownModel, "The model is not served by this scorer."));
            return;
        }

        if (slot.Current is not { } model)
        {
            var state = _registry.StateOf(slot.Name);
            Reject(context, featureEvent, new Rejection(ReasonCodes.ModelUnavailable, state.FailedVersion is { } failed
                ? $"Model {slot.Name} has no version in service: version {failed} failed to load: {state.Failure}"
                : $"Model {slot.Name} has no version in service: {state.Failure ?? "not loaded yet"}"));
            return;
        }

        var index = slot.Batcher.Count;
        if (model.Validator.Fill(featureEvent, model.Session, index) is { } invalid)
        {
            Reject(context, featureEvent, new Rejection(invalid.Code, invalid.Detail));
            return;
        }

        var enqueueTicks = Stopwatch.GetTimestamp();
        slot.Batcher.Add(enqueueTicks);
        slot.Rows[index].Set(featureEvent, context, enqueueTicks);
        if (slot.Batcher.IsFull)
        {
            Dispatch(slot, DispatchReason.FULL);
        }
    }

    private void Dispatch(ModelSlot slot, DispatchReason reason)
    {
        var rows = slot.Batcher.Count;
        if (rows == 0)
        {
            return;
        }

        var model = slot.Current!;
        var batchId = ++_batchCounter;
        var start = Stopwatch.GetTimestamp();
        try
        {
            model.Session.Run(rows);
        }
        catch (OnnxRuntimeException ex)
        {
            LogInferenceFailed(_logger, ex, model.Name, model.Version, rows);
            for (var i = 0; i < rows; i++)
            {
                var row = slot.Rows[i];
                Reject(row.Context, row.Event, new Rejection(ReasonCodes.InferenceFailed, ex.Message));
            }

            slot.Batcher.Reset();
            return;
        }

        var end = Stopwatch.GetTimestamp();
        var inferenceUs = Micros(end - start);
        slot.BatchRows.Observe(rows);
        slot.Batches[(int)reason].Inc();
        var manifest = model.Session.Model.Manifest;
        for (var i = 0; i < rows; i++)
        {
            var row = slot.Rows[i];
            var prediction = NewPrediction(row.Event, row.Context, model, PredictionStatus.OK, null);
            OutputReader.Apply(manifest, model.Session.OutputRow(i), prediction);
            var timing = prediction.Timing;
            timing.DecodeUs = row.DecodeUs;
            timing.BatchWaitUs = Micros(start - row.EnqueueTicks);
            timing.BatchId = batchId;
            timing.BatchSize = rows;
            timing.DispatchReason = reason;
            timing.InferenceUs = inferenceUs;
            var handOff = Stopwatch.GetTimestamp();
            timing.EncodeUs = Micros(handOff - end);
            timing.E2eUs = Micros(handOff - row.Context.ConsumeTicks);
            timing.PublishedAtMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            Publish(prediction, row.Context.Record.TopicPartition, row.Context.Record.Offset.Value);
            var stages = slot.Stages;
            stages[0].Observe(timing.KafkaQueueUs / 1e6);
            stages[1].Observe(timing.DecodeUs / 1e6);
            stages[2].Observe(timing.BatchWaitUs / 1e6);
            stages[3].Observe(timing.InferenceUs / 1e6);
            stages[4].Observe(timing.EncodeUs / 1e6);
            stages[5].Observe(timing.E2eUs / 1e6);
            slot.OkCounter.Inc();
        }

        if (slot.Shadow is { } shadow)
        {
            ScoreShadow(slot, shadow, rows, batchId, reason);
        }

        slot.Batcher.Reset();
    }

    /// <summary>Scores the batch's events with the shadow model; nothing here can affect the main output.</summary>
    private void ScoreShadow(ModelSlot slot, ServedModel shadow, int rows, long batchId, DispatchReason reason)
    {
        try
        {
            var accepted = 0;
            for (var i = 0; i < rows; i++)
            {
                var row = slot.Rows[i];
                if (shadow.Validator.Fill(row.Event, shadow.Session, accepted) is { } invalid)
                {
                    var failed = NewPrediction(row.Event, row.Context, shadow, PredictionStatus.ERROR, invalid.ToString());
                    failed.Shadow = true;
                    _producer!.Produce(_kafka.Topics.ShadowPredictions, new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes(failed.EventId), Value = _encoder.Encode(failed) });
                    continue;
                }

                slot.ShadowRowMap[accepted++] = i;
            }

            if (accepted == 0)
            {
                return;
            }

            var start = Stopwatch.GetTimestamp();
            shadow.Session.Run(accepted);
            var inferenceUs = Micros(Stopwatch.GetTimestamp() - start);
            for (var k = 0; k < accepted; k++)
            {
                var row = slot.Rows[slot.ShadowRowMap[k]];
                var prediction = NewPrediction(row.Event, row.Context, shadow, PredictionStatus.OK, null);
                prediction.Shadow = true;
                OutputReader.Apply(shadow.Session.Model.Manifest, shadow.Session.OutputRow(k), prediction);
                prediction.Timing.DecodeUs = row.DecodeUs;
                prediction.Timing.BatchId = batchId;
                prediction.Timing.BatchSize = accepted;
                prediction.Timing.DispatchReason = reason;
                prediction.Timing.InferenceUs = inferenceUs;
                prediction.Timing.E2eUs = Micros(Stopwatch.GetTimestamp() - row.Context.ConsumeTicks);
                prediction.Timing.PublishedAtMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                _producer!.Produce(_kafka.Topics.ShadowPredictions, new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes(prediction.EventId), Value = _encoder.Encode(prediction) });
            }
        }
        catch (Exception ex) when (ex is OnnxRuntimeException or KafkaException or Avro.AvroException)
        {
            LogShadowFailed(_logger, ex, shadow.Name, shadow.Version);
        }
    }

    /// <summary>
    /// A record that cannot be scored: exactly one dead letter and, when the record has a plausible event time, one
    /// ERROR prediction at that time; then the loop goes on. The prediction is first-class downstream, never a second
    /// dead letter: every identifier in it is valid. It is
    /// keyed by the event id when that is valid, else by the record's coordinates (topic/partition/offset); it
    /// carries a served model's name and the version in service (or, for a model that failed to load, the version
    /// that failed), so it counts in that model's error rate; an unknown or invalid model name goes to the
    /// <see cref="Identifiers.UnknownModelBucket"/> model and version, with the name itself (escaped) in error_reason.
    /// </summary>
    private void Reject(RecordContext context, FeatureEvent? featureEvent, Rejection rejection)
    {
        var (modelName, version, model, bucket) = Attribute(featureEvent);
        var detail = featureEvent is not null && bucket
            ? $"{rejection.Detail} (model_name '{Identifiers.Printable(featureEvent.ModelName)}')"
            : rejection.Detail;
        _metrics.Error(rejection.ReasonCode);
        _deadLetters!.Publish(context.Record, rejection.ReasonCode, detail, rejection.EventTimeMs ?? featureEvent?.EventTimeMs);

        var record = context.Record;

        // An ERROR prediction is placed at the event's own time. A record without a plausible event time (undecodable,
        // or its time refused) gets the dead letter only: any stand-in time (the record timestamp, the wall clock)
        // would be invented, and in a backfill or a time-compressed run it would move the aggregator's stream time
        // ahead of the real events and make them late.
        if (featureEvent is null || _policy.EventTime.Check("event_time_ms", featureEvent.EventTimeMs, context.RecordTimestampMs) is not null)
        {
            _tracker.Acknowledged(record.TopicPartition, record.Offset.Value);
            return;
        }

        var prediction = NewPrediction(null, context, model, PredictionStatus.ERROR, $"{rejection.ReasonCode}: {detail}");
        prediction.EventId = Identifiers.IsValid(featureEvent.EventId)
            ? featureEvent.EventId
            : Encoding.UTF8.GetString(DeadLetter.KeyOf(record.Topic, record.Partition.Value, record.Offset.Value));
        prediction.ModelName = modelName;
        prediction.ModelVersion = version;
        prediction.EntityId = Identifiers.Check("entity_id", featureEvent.EntityId, required: false) is null ? featureEvent.EntityId : "";
        prediction.EventTimeMs = featureEvent.EventTimeMs;
        prediction.ExecutionProvider = "";
        var handOff = Stopwatch.GetTimestamp();
        prediction.Timing.DecodeUs = Micros(handOff - context.ConsumeTicks);
        prediction.Timing.E2eUs = prediction.Timing.DecodeUs;
        prediction.Timing.PublishedAtMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        Publish(prediction, record.TopicPartition, record.Offset.Value);
        _metrics.Predictions(modelName, version).Error.Inc();
    }

    /// <summary>The model and version an ERROR prediction counts under (see <see cref="Reject"/>).</summary>
    private (string Name, string Version, ServedModel? Model, bool Bucket) Attribute(FeatureEvent? featureEvent)
    {
        if (featureEvent is null || !Identifiers.IsValid(featureEvent.ModelName) || !_slots.TryGetValue(featureEvent.ModelName, out var slot))
        {
            return (Identifiers.UnknownModelBucket, Identifiers.UnknownModelBucket, null, true);
        }

        if (slot.Current is { } model)
        {
            return (model.Name, model.Version, model, false);
        }

        return (slot.Name, _registry.StateOf(slot.Name).FailedVersion ?? Identifiers.UnknownModelBucket, null, false);
    }

    /// <summary>
    /// Runs one synthetic event of every model in service through the managed scoring path (encode, decode, validate,
    /// fill, run, read the output, encode the prediction) before the scorer reports ready, publishing nothing; compiles
    /// the loop's own methods and has the producer learn the predictions topic's partitions. The model sessions are
    /// warmed at load; this warms the code around them, whose first-use cost (8 to 19 ms on the first rows, measured in
    /// the demo) otherwise lands on the first users' events and showed as a start-up latency burn.
    /// </summary>
    private void WarmUpScoringPath()
    {
        var started = Stopwatch.GetTimestamp();
        foreach (var method in typeof(ScorerWorker).GetMethods(BindingFlags.Instance | BindingFlags.NonPublic))
        {
            if (method.Name is nameof(Loop) or nameof(Handle) or nameof(Dispatch) or nameof(Publish) or nameof(Produce) or nameof(NewPrediction) or nameof(Reject))
            {
                RuntimeHelpers.PrepareMethod(method.MethodHandle);
            }
        }

        try
        {
            using var admin = new DependentAdminClientBuilder(_producer!.Handle).Build();
            admin.GetMetadata(_kafka.Topics.Predictions, TimeSpan.FromSeconds(5));
        }
        catch (KafkaException ex)
        {
            // Only a warm-up: the first prediction learns the partitions itself.
            _logger.LogDebug(ex, "Could not read the metadata of {Topic} while warming up", _kafka.Topics.Predictions);
        }

        foreach (var slot in _slots.Values)
        {
            if (slot.Current is not { } model || slot.Batcher.Count != 0)
            {
                continue;
            }

            var manifest = model.Session.Model.Manifest;
            var synthetic = new FeatureEvent { EventId = "warm-up", ModelName = slot.Name, EventTimeMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() };
            for (var i = 0; i < manifest.Features.Count; i++)
            {
                synthetic.Features[manifest.Features[i]] = i < manifest.FeatureMeans.Count ? manifest.FeatureMeans[i] : 0.0;
            }

            var record = new ConsumeResult<byte[], byte[]>
            {
                Message = new Message<byte[], byte[]> { Value = _codec.Serialize(synthetic), Timestamp = new Timestamp(synthetic.EventTimeMs, TimestampType.CreateTime) },
            };
            if (!_decoder.TryDecode(record.Message.Value, out var decoded, out _)
                || !_policy.Validate(decoded!, synthetic.EventTimeMs).IsValid
                || model.Validator.Fill(decoded!, model.Session, 0) is not null)
            {
                continue;
            }

            model.Session.Run(1);
            var prediction = NewPrediction(decoded, new RecordContext(record, started, synthetic.EventTimeMs), model, PredictionStatus.OK, null);
            OutputReader.Apply(manifest, model.Session.OutputRow(0), prediction);
            _ = _encoder.Encode(prediction);
        }

        LogWarmedUp(_logger, Micros(Stopwatch.GetTimestamp() - started) / 1000.0);
    }

    private Prediction NewPrediction(FeatureEvent? featureEvent, RecordContext context, ServedModel? model, PredictionStatus status, string? error)
    {
        var recordMs = context.RecordTimestampMs;
        var brokerMs = recordMs ?? 0;
        return new Prediction
        {
            EventId = featureEvent?.EventId ?? "",
            ModelName = model?.Name ?? featureEvent?.ModelName ?? "",
            ModelVersion = model?.Version ?? "",
            ModelHash = model?.Sha256 ?? "",
            EntityId = featureEvent?.EntityId ?? "",
            EventTimeMs = featureEvent?.EventTimeMs ?? 0,
            Status = status,
            ErrorReason = error,
            OutputKind = model?.Session.Model.Manifest.OutputKind ?? OutputKind.BINARY_PROBABILITY,
            ExecutionProvider = model?.Session.ExecutionProvider ?? "",
            ScorerInstance = _instanceId,
            Timing = new PredictionTiming
            {
                BrokerTimeMs = brokerMs,
                ConsumedAtMs = context.ConsumedAtMs,
                KafkaQueueUs = recordMs is { } ms ? Math.Max(0, (context.ConsumedAtMs - ms) * 1000) : 0,
                DispatchReason = DispatchReason.NONE,
            },
        };
    }

    private void Publish(Prediction prediction, TopicPartition source, long offset)
    {
        var message = new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes(prediction.EventId), Value = _encoder.Encode(prediction) };
        Produce(message, source, offset);
    }

    private void Produce(Message<byte[], byte[]> message, TopicPartition source, long offset)
    {
        while (true)
        {
            try
            {
                _producer!.Produce(_kafka.Topics.Predictions, message, report =>
                {
                    if (report.Error.IsError)
                    {
                        _metrics.DeliveryFailed();
                        _retries.Enqueue((message, source, offset));
                        return;
                    }

                    _tracker.Acknowledged(source, offset);
                });
                return;
            }
            catch (ProduceException<byte[], byte[]> ex) when (ex.Error.Code == ErrorCode.Local_QueueFull)
            {
                // Backpressure: serve delivery reports until the local queue has room.
                _producer!.Flush(TimeSpan.FromMilliseconds(50));
            }
        }
    }

    private void RetryFailedDeliveries()
    {
        while (_retries.TryDequeue(out var retry))
        {
            LogRetry(_logger, retry.Source.Partition.Value, retry.Offset);
            Produce(retry.Message, retry.Source, retry.Offset);
        }
    }

    /// <summary>Takes new model versions for every model whose batch is empty: swaps happen between batches only.</summary>
    private void AdoptOfferedModels()
    {
        foreach (var slot in _slots.Values)
        {
            if (slot.Batcher.Count != 0)
            {
                continue;
            }

            if (_registry.TryTake(slot.Name, out var model))
            {
                Swap(slot.Current, model, shadow: false);
                slot.Current = model;
            }

            if (slot.ShadowName is { } shadowName && _registry.TryTake(shadowName, out var shadowModel))
            {
                Swap(slot.Shadow, shadowModel, shadow: true);
                slot.Shadow = shadowModel;
            }
        }
    }

    private void Swap(ServedModel? old, ServedModel next, bool shadow)
    {
        if (old is not null)
        {
            _metrics.ModelInService(old.Name, old.Version, old.Sha256, old.Session.ExecutionProvider, shadow, inService: false);
            _metrics.Swapped(next.Name);
            LogSwap(_logger, next.Name, old.Version, next.Version, next.Sha256);
            old.Dispose();
        }

        _metrics.ModelInService(next.Name, next.Version, next.Sha256, next.Session.ExecutionProvider, shadow, inService: true);
        _metrics.ModelAvailable(next.Name, available: true);
        _servingChanged = true;
        var slot = shadow ? _slotsByShadow[next.Name] : _slots[next.Name];
        if (!shadow)
        {
            slot.OkCounter = _metrics.Predictions(next.Name, next.Version).Ok;
        }
    }

    /// <summary>
    /// Puts one line per model into /readyz (serving which version; or unavailable, which version failed and why)
    /// whenever the registry's states or the versions in service have changed.
    /// </summary>
    private void PublishModelStates()
    {
        var generation = _registry.Generation;
        if (generation == _publishedGeneration && !_servingChanged)
        {
            return;
        }

        _publishedGeneration = generation;
        _servingChanged = false;
        var lines = new StringBuilder();
        foreach (var state in _registry.States)
        {
            var (label, serving) = _slots.TryGetValue(state.Name, out var slot)
                ? ($"model {state.Name}", slot.Current)
                : ($"shadow {state.Name} of {_slotsByShadow[state.Name].Name}", _slotsByShadow[state.Name].Shadow);
            var failure = state.FailedVersion is { } failed ? $"version {failed} failed to load: {state.Failure}" : state.Failure;
            lines.Append(label).Append(": ").Append((serving, state.Attempted, failure) switch
            {
                ({ } model, _, null) => $"serving version {model.Version}",
                ({ } model, _, _) => $"serving version {model.Version}; {failure}",
                (null, false, _) or (null, true, null) => "loading",
                (null, true, _) => $"unavailable: {failure}",
            }).Append('\n');
        }

        _readiness.SetDetails(lines.ToString());
    }

    private void DrainAll()
    {
        foreach (var slot in _slots.Values)
        {
            Dispatch(slot, DispatchReason.DRAIN);
        }
    }

    private void OnRevoked(List<TopicPartition> partitions)
    {
        // Score what is waiting, get it acknowledged and commit it, so the next owner starts where this one ends.
        DrainAll();
        Commit(force: true);
        Forget(partitions);
        LogRevoked(_logger, string.Join(",", partitions.Select(p => p.Partition.Value)));
    }

    private void Commit(bool force)
    {
        _lastCommitTicks = Stopwatch.GetTimestamp();
        if (force && _producer!.Flush(FlushTimeout) > 0)
        {
            LogFlushTimeout(_logger);
        }

        RetryFailedDeliveries();

        // Never past a dead letter that is not written: a record whose dead letter was refused stays uncommitted, so
        // a restart reads it again instead of losing it (DeadLetterPublisher retries it meanwhile).
        if (!_deadLetters!.Flush(FlushTimeout))
        {
            LogFlushTimeout(_logger);
        }

        try
        {
            foreach (var offset in _tracker.TakeCommittable())
            {
                _toCommit[offset.TopicPartition] = offset.Offset;
            }

            foreach (var (partition, desired) in _toCommit.ToList())
            {
                var safe = _deadLetters.SafeCommitOffset(partition, desired);
                _consumer!.StoreOffset(new TopicPartitionOffset(partition, safe));
                if (safe == desired)
                {
                    _toCommit.Remove(partition);
                }
            }

            if (force)
            {
                _consumer!.Commit();
            }
        }
        catch (KafkaException ex) when (ex.Error.Code == ErrorCode.Local_NoOffset)
        {
            // Nothing stored since the last commit.
        }
        catch (KafkaException ex)
        {
            // Storing for a partition no longer assigned, or nothing to commit: the next owner re-scores from the last commit.
            LogCommitFailed(_logger, ex.Error.Reason);
        }
    }

    private void UpdateLag()
    {
        long total = 0;
        foreach (var partition in _consumer!.Assignment)
        {
            var position = _consumer.Position(partition);
            var watermarks = _consumer.GetWatermarkOffsets(partition);
            if (position.Value >= 0 && watermarks.High.Value >= 0)
            {
                var lag = Math.Max(0, watermarks.High.Value - position.Value);
                _metrics.Lag(partition.Topic, partition.Partition.Value, lag);
                total += lag;
            }
        }

        _progress!.ReportLag(total);
    }

    /// <summary>Partitions this instance no longer owns: their next owner reads from the last commit.</summary>
    private void Forget(List<TopicPartition> partitions)
    {
        _tracker.Remove(partitions);
        foreach (var partition in partitions)
        {
            _toCommit.Remove(partition);
            _deadLetters!.Release(partition);
        }
    }

    private static long Micros(long ticks) => ticks * 1_000_000 / Stopwatch.Frequency;

    [LoggerMessage(Level = LogLevel.Information, Message = "Scorer {InstanceId} consuming {Topic} in group {Group}: batch {BatchSize} rows, queue delay {QueueDelayMs} ms")]
    private static partial void LogStarted(ILogger logger, string topic, string group, string instanceId, int batchSize, int queueDelayMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Scorer starts without models {Models}: no version of them loads; their events get MODEL_UNAVAILABLE errors until one does")]
    private static partial void LogStartingWithout(ILogger logger, string models);

    [LoggerMessage(Level = LogLevel.Information, Message = "Warmed up the scoring path of the models in service in {Milliseconds} ms")]
    private static partial void LogWarmedUp(ILogger logger, double milliseconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Assigned partitions {Partitions}")]
    private static partial void LogAssigned(ILogger logger, string partitions);

    [LoggerMessage(Level = LogLevel.Information, Message = "Revoked partitions {Partitions} after draining and committing")]
    private static partial void LogRevoked(ILogger logger, string partitions);

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {Model} swapped from version {OldVersion} to {NewVersion} (sha256 {Sha256}) between batches")]
    private static partial void LogSwap(ILogger logger, string model, string oldVersion, string newVersion, string sha256);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Consume error: {Reason}")]
    private static partial void LogConsumeError(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Offset commit failed: {Reason}")]
    private static partial void LogCommitFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Producer flush timed out; offsets stay uncommitted until acknowledged")]
    private static partial void LogFlushTimeout(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Re-producing the prediction of partition {Partition} offset {Offset} after a failed delivery")]
    private static partial void LogRetry(ILogger logger, int partition, long offset);

    [LoggerMessage(Level = LogLevel.Error, Message = "Inference failed for {Model} version {Version} on a batch of {Rows} rows; each event gets an error prediction")]
    private static partial void LogInferenceFailed(ILogger logger, Exception ex, string model, string version, int rows);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shadow model {Model} version {Version} failed on a batch; the main output is unaffected")]
    private static partial void LogShadowFailed(ILogger logger, Exception ex, string model, string version);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Scorer stopped on an unrecoverable error")]
    private static partial void LogFatal(ILogger logger, Exception ex);

    /// <summary>A consumed record and when it arrived.</summary>
    private sealed record RecordContext(ConsumeResult<byte[], byte[]> Record, long ConsumeTicks, long ConsumedAtMs)
    {
        /// <summary>The record's Kafka timestamp, or null when it has none.</summary>
        public long? RecordTimestampMs => Record.Message.Timestamp.Type == TimestampType.NotAvailable ? null : Record.Message.Timestamp.UnixTimestampMs;
    }

    /// <summary>A row waiting in a batch; instances are reused batch after batch.</summary>
    private sealed class PendingRow
    {
        public FeatureEvent Event { get; private set; } = null!;

        public RecordContext Context { get; private set; } = null!;

        public long EnqueueTicks { get; private set; }

        public long DecodeUs { get; private set; }

        public void Set(FeatureEvent featureEvent, RecordContext context, long enqueueTicks)
        {
            Event = featureEvent;
            Context = context;
            EnqueueTicks = enqueueTicks;
            DecodeUs = Micros(enqueueTicks - context.ConsumeTicks);
        }
    }

    /// <summary>Per served model: the version in service, its shadow, the batcher and the pre-resolved metrics.</summary>
    private sealed class ModelSlot : IDisposable
    {
        public ModelSlot(string name, int batchSize, long queueDelayTicks, bool dispatchWhenIdle, ScorerMetrics metrics, string? shadowName)
        {
            Name = name;
            ShadowName = shadowName;
            Batcher = new MicroBatcher(batchSize, queueDelayTicks, dispatchWhenIdle);
            Rows = Enumerable.Range(0, batchSize).Select(_ => new PendingRow()).ToArray();
            ShadowRowMap = new int[batchSize];
            Stages = metrics.StageHistograms(name);
            BatchRows = metrics.BatchRows(name);
            Batches = metrics.Batches(name);
            OkCounter = metrics.Predictions(name, "").Ok;
        }

        public string Name { get; }

        public string? ShadowName { get; }

        public ServedModel? Current { get; set; }

        public ServedModel? Shadow { get; set; }

        public MicroBatcher Batcher { get; }

        public PendingRow[] Rows { get; }

        public int[] ShadowRowMap { get; }

        public Histogram.Child[] Stages { get; }

        public Histogram.Child BatchRows { get; }

        public Counter.Child[] Batches { get; }

        public Counter.Child OkCounter { get; set; }

        public void Dispose()
        {
            Current?.Dispose();
            Shadow?.Dispose();
        }
    }
}
