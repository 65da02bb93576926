using System.Collections.Concurrent;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.Validation;
using StreamMonitor.Kafka;
using StreamMonitor.Models.Inference;

namespace StreamMonitor.Scorer;

/// <summary>
/// Hands the scorer's predictions to the producer: OK and ERROR predictions to the predictions topic (acknowledged
/// offsets go to the <see cref="OffsetTracker"/>, failed deliveries are re-produced from the scoring loop), shadow
/// predictions to the shadow topic (fire and forget), and for a refused record its one dead letter. Called from the
/// scoring loop only; delivery reports arrive on the producer's thread.
/// </summary>
internal sealed partial class PredictionPublisher
{
    private readonly IProducer<byte[], byte[]> _producer;
    private readonly TopicCatalog _topics;
    private readonly PredictionEncoder _encoder;
    private readonly OffsetTracker _tracker;
    private readonly ScorerMetrics _metrics;
    private readonly DeadLetterPublisher _deadLetters;
    private readonly RecordPolicy _policy;
    private readonly ModelSlots _slots;
    private readonly string _instanceId;
    private readonly ILogger _logger;
    private readonly ConcurrentQueue<(Message<byte[], byte[]> Message, TopicPartition Source, long Offset)> _retries = new();

    public PredictionPublisher(IProducer<byte[], byte[]> producer, TopicCatalog topics, PredictionEncoder encoder, OffsetTracker tracker, ScorerMetrics metrics,
        DeadLetterPublisher deadLetters, RecordPolicy policy, ModelSlots slots, string instanceId, ILogger logger)
    {
        _producer = producer;
        _topics = topics;
        _encoder = encoder;
        _tracker = tracker;
        _metrics = metrics;
        _deadLetters = deadLetters;
        _policy = policy;
        _slots = slots;
        _instanceId = instanceId;
        _logger = logger;
    }

    /// <summary>A prediction of <paramref name="model"/> for an event, its timing started at consume.</summary>
    public Prediction NewPrediction(FeatureEvent? featureEvent, RecordContext context, ServedModel? model, PredictionStatus status, string? error) => new()
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
        Timing = PredictionClock.Consumed(context.RecordTimestampMs, context.ConsumedAtMs),
    };

    /// <summary>Publishes the prediction of a consumed record; its offset becomes committable once acknowledged.</summary>
    public void Publish(Prediction prediction, ConsumeResult<byte[], byte[]> record) =>
        Produce(new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes(prediction.EventId), Value = _encoder.Encode(prediction) }, record.TopicPartition, record.Offset.Value);

    /// <summary>Publishes a shadow prediction; nothing waits for it.</summary>
    public void PublishShadow(Prediction prediction) =>
        _producer.Produce(_topics.ShadowPredictions, new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes(prediction.EventId), Value = _encoder.Encode(prediction) });

    /// <summary>
    /// A record that cannot be scored: exactly one dead letter and, when the record has a plausible event time, one
    /// ERROR prediction at that time; then the loop goes on. The prediction is first-class downstream, never a second
    /// dead letter: every identifier in it is valid. It is keyed by the event id when that is valid, else by the
    /// record's coordinates (topic/partition/offset); it counts under the model <see cref="ModelSlots.Attribute"/>
    /// names, with an unknown or invalid model name (escaped) in error_reason.
    /// </summary>
    public void Reject(RecordContext context, FeatureEvent? featureEvent, Rejection rejection)
    {
        var (modelName, version, model, bucket) = _slots.Attribute(featureEvent);
        var detail = featureEvent is not null && bucket
            ? $"{rejection.Detail} (model_name '{Identifiers.Printable(featureEvent.ModelName)}')"
            : rejection.Detail;
        _metrics.Error(rejection.ReasonCode);
        _deadLetters.Publish(context.Record, rejection.ReasonCode, detail, rejection.EventTimeMs ?? featureEvent?.EventTimeMs);

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
        PredictionClock.HandOff(prediction.Timing, context.ConsumeTicks, runEndTicks: null);
        Publish(prediction, record);
        _metrics.Predictions(modelName, version).Error.Inc();
    }

    /// <summary>Re-produces the predictions whose delivery failed.</summary>
    public void RetryFailedDeliveries()
    {
        while (_retries.TryDequeue(out var retry))
        {
            LogRetry(_logger, retry.Source.Partition.Value, retry.Offset);
            Produce(retry.Message, retry.Source, retry.Offset);
        }
    }

    private void Produce(Message<byte[], byte[]> message, TopicPartition source, long offset)
    {
        while (true)
        {
            try
            {
                _producer.Produce(_topics.Predictions, message, report =>
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
                _producer.Flush(TimeSpan.FromMilliseconds(50));
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Re-producing the prediction of partition {Partition} offset {Offset} after a failed delivery")]
    private static partial void LogRetry(ILogger logger, int partition, long offset);
}
