using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using StreamMonitor.Contracts;

namespace StreamMonitor.Kafka;

/// <summary>
/// Sends inputs a service could not process to the dead-letter topic, keyed by "source-topic/partition/offset" (so a
/// re-delivered input after a crash lands on the same key and is recognisable as a duplicate), and counts them per
/// reason code. Never throws on the caller's hot path: a record that cannot be queued or delivered is logged and
/// counted in <see cref="DeliveryFailures"/>. Call <see cref="Flush"/> before committing the input offsets of the
/// dead-lettered records, so a crash cannot lose them.
/// </summary>
public sealed class DeadLetterPublisher : IDisposable
{
    private static readonly TimeSpan QueueFullWait = TimeSpan.FromMilliseconds(100);
    private const int QueueFullAttempts = 50;

    private readonly IProducer<byte[], byte[]> _producer;
    private readonly bool _ownsProducer;
    private readonly string _topic;
    private readonly string _service;
    private readonly EventCodec _codec;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, long> _counts = new(StringComparer.Ordinal);
    private readonly Action<DeliveryReport<byte[], byte[]>> _onDelivery;
    private long _failures;
    private long _delivered;

    /// <summary>Publishes through an existing producer (not disposed here).</summary>
    public DeadLetterPublisher(IProducer<byte[], byte[]> producer, TopicCatalog topics, string service, EventCodec codec, ILogger logger, TimeProvider? time = null)
        : this(producer, ownsProducer: false, topics, service, codec, logger, time)
    {
    }

    private DeadLetterPublisher(IProducer<byte[], byte[]> producer, bool ownsProducer, TopicCatalog topics, string service, EventCodec codec, ILogger logger, TimeProvider? time)
    {
        ArgumentNullException.ThrowIfNull(producer);
        ArgumentNullException.ThrowIfNull(topics);
        ArgumentException.ThrowIfNullOrEmpty(service);
        ArgumentNullException.ThrowIfNull(codec);
        ArgumentNullException.ThrowIfNull(logger);
        _producer = producer;
        _ownsProducer = ownsProducer;
        _topic = topics.DeadLetter;
        _service = service;
        _codec = codec;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _onDelivery = OnDelivery;
    }

    /// <summary>Creates a publisher with its own producer built from <paramref name="options"/>.</summary>
    public static DeadLetterPublisher Create(KafkaOptions options, string service, EventCodec codec, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        var producer = new ProducerBuilder<byte[], byte[]>(KafkaClientConfig.Producer(options, $"{service}-deadletter")).Build();
        return new DeadLetterPublisher(producer, ownsProducer: true, options.Topics, service, codec, logger, null);
    }

    /// <summary>Dead letters handed to <see cref="Publish(DeadLetter)"/>, per reason code (including undelivered ones).</summary>
    public IReadOnlyDictionary<string, long> CountsByReason => _counts;

    /// <summary>Dead letters handed over in total.</summary>
    public long Total => _counts.Values.Sum();

    /// <summary>Dead letters acknowledged by the cluster.</summary>
    public long Delivered => Interlocked.Read(ref _delivered);

    /// <summary>Dead letters that could not be queued or delivered (each one logged as an error).</summary>
    public long DeliveryFailures => Interlocked.Read(ref _failures);

    /// <summary>Dead-letters a consumed record, keeping its key and value byte for byte.</summary>
    public void Publish(ConsumeResult<byte[], byte[]> source, string reasonCode, string reason, long? eventTimeMs = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        Publish(DeadLetter.For(source.Topic, source.Partition.Value, source.Offset.Value, source.Message?.Key, source.Message?.Value,
            reasonCode, reason, eventTimeMs, DeadLetter.DefaultMaxPayloadBytes));
    }

    /// <summary>Dead-letters a record that failed to decode, with the decoder's reason code.</summary>
    public void Publish(ConsumeResult<byte[], byte[]> source, EventDecodeException error)
    {
        ArgumentNullException.ThrowIfNull(error);
        Publish(source, error.ReasonCode, error.Message);
    }

    /// <summary>Publishes a dead letter; fills in the service and observation time when empty.</summary>
    public void Publish(DeadLetter letter)
    {
        ArgumentNullException.ThrowIfNull(letter);
        if (string.IsNullOrEmpty(letter.Service))
        {
            letter.Service = _service;
        }

        if (letter.ObservedAtMs == 0)
        {
            letter.ObservedAtMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
        }

        _counts.AddOrUpdate(letter.ReasonCode, 1, static (_, n) => n + 1);
        byte[] value;
        try
        {
            value = _codec.Serialize(letter);
        }
        catch (Exception ex) when (ex is Avro.AvroException or ArgumentException or InvalidOperationException)
        {
            Fail(letter, ex.Message);
            return;
        }

        var message = new Message<byte[], byte[]> { Key = DeadLetter.KeyOf(letter.SourceTopic, letter.SourcePartition, letter.SourceOffset), Value = value };
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                _producer.Produce(_topic, message, _onDelivery);
                return;
            }
            catch (ProduceException<byte[], byte[]> ex) when (ex.Error.Code == ErrorCode.Local_QueueFull && attempt < QueueFullAttempts)
            {
                // Backpressure rather than loss: serve delivery reports until the local queue has room.
                _producer.Poll(QueueFullWait);
            }
            catch (KafkaException ex)
            {
                Fail(letter, ex.Error.Reason);
                return;
            }
        }
    }

    /// <summary>Waits until every dead letter handed over so far is acknowledged or failed; returns false on timeout.</summary>
    public bool Flush(TimeSpan timeout) => _producer.Flush(timeout) == 0;

    /// <summary>Flushes and, when it owns the producer, disposes it.</summary>
    public void Dispose()
    {
        if (!_ownsProducer)
        {
            return;
        }

        if (_producer.Flush(TimeSpan.FromSeconds(10)) > 0)
        {
            _logger.LogError("Dead-letter publisher of {Service} closed with undelivered records", _service);
        }

        _producer.Dispose();
    }

    private void OnDelivery(DeliveryReport<byte[], byte[]> report)
    {
        if (report.Error.IsError)
        {
            Interlocked.Increment(ref _failures);
            _logger.LogError("Dead letter {Key} of {Service} was not delivered to {Topic}: {Error}",
                Encoding.UTF8.GetString(report.Message.Key), _service, _topic, report.Error.Reason);
            return;
        }

        Interlocked.Increment(ref _delivered);
    }

    private void Fail(DeadLetter letter, string error)
    {
        Interlocked.Increment(ref _failures);
        _logger.LogError("Dead letter {SourceTopic}/{SourcePartition}/{SourceOffset} ({ReasonCode}) of {Service} could not be queued: {Error}",
            letter.SourceTopic, letter.SourcePartition, letter.SourceOffset, letter.ReasonCode, _service, error);
    }
}
