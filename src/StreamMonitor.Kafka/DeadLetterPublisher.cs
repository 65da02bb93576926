using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using StreamMonitor.Contracts;

namespace StreamMonitor.Kafka;

/// <summary>
/// Sends inputs a service could not process to the dead-letter topic, keyed by "source-topic/partition/offset"
/// (<see cref="DeadLetter.KeyOf"/>: a record dead-lettered again after a crash lands on the same key), and counts them
/// per reason code. Never throws on the caller's hot path.
/// </summary>
/// <remarks>
/// <para>A dead letter is the only trace of a bad record, so it must never be lost behind a committed offset. Every
/// dead letter stays <em>unresolved</em> from <see cref="Publish(DeadLetter)"/> until the cluster acknowledges it. One
/// that cannot be written (the local queue refuses it, the cluster refuses it, e.g. too large even after truncation)
/// is counted (<see cref="DeliveryFailures"/>, metric <c>streammon.dead_letters.delivery_failures</c>), logged, and
/// tried again by the next <see cref="Flush"/> after a backoff, at most <see cref="DeadLetterRetryPolicy.MaxAttempts"/>
/// times. While unresolved it holds back its source partition's commits:</para>
/// <code>
/// publisher.Flush(timeout);                                    // waits for in-flight letters, retries failed ones
/// consumer.Commit(publisher.SafeCommitOffsets(nextOffsets));   // never past a dead letter that is not written
/// </code>
/// <para>A letter given up on stays unresolved for the life of the process: its partition's commits stay at its
/// source offset (metric <c>streammon.dead_letters.blocking</c>), so after a restart the record is read again and
/// dead-lettered again. Thread-safe: delivery reports arrive on the producer's poll thread.</para>
/// </remarks>
public sealed class DeadLetterPublisher : IDisposable
{
    /// <summary>Name of the <see cref="Meter"/> carrying the publisher's instruments.</summary>
    public const string MeterName = "StreamMonitor.Kafka.DeadLetters";

    private static readonly TimeSpan QueueFullWait = TimeSpan.FromMilliseconds(100);
    private const int QueueFullAttempts = 50;

    private readonly IProducer<byte[], byte[]> _producer;
    private readonly bool _ownsProducer;
    private readonly string _topic;
    private readonly string _service;
    private readonly EventCodec _codec;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly DeadLetterRetryPolicy _retry;
    private readonly ConcurrentDictionary<string, long> _counts = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    /// <summary>Per source partition: source offsets with a dead letter not yet acknowledged.</summary>
    private readonly Dictionary<TopicPartition, SortedSet<long>> _unresolved = [];

    /// <summary>Letters that failed: waiting for their next attempt, or given up on.</summary>
    private readonly List<Letter> _failed = [];
    private readonly Meter _meter;
    private readonly KeyValuePair<string, object?> _serviceTag;
    private long _failures;
    private long _delivered;
    private long _abandoned;

    /// <summary>Publishes through an existing producer (not disposed here).</summary>
    public DeadLetterPublisher(IProducer<byte[], byte[]> producer, TopicCatalog topics, string service, EventCodec codec, ILogger logger, TimeProvider? time = null, DeadLetterRetryPolicy? retry = null)
        : this(producer, ownsProducer: false, topics, service, codec, logger, time, retry)
    {
    }

    private DeadLetterPublisher(IProducer<byte[], byte[]> producer, bool ownsProducer, TopicCatalog topics, string service, EventCodec codec, ILogger logger, TimeProvider? time, DeadLetterRetryPolicy? retry)
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
        _retry = retry ?? DeadLetterRetryPolicy.Default;
        ArgumentOutOfRangeException.ThrowIfLessThan(_retry.MaxAttempts, 1, nameof(retry));
        _serviceTag = new("service", service);
        _meter = new Meter(MeterName);

        // Observable instruments: read when /metrics is scraped, so nothing counted before the first scrape is lost.
        _meter.CreateObservableCounter("streammon.dead_letters.published", () => _counts.Select(c => new Measurement<long>(c.Value, _serviceTag, new("reason", c.Key))),
            description: "Dead letters handed to the publisher, by service and reason code.");
        _meter.CreateObservableCounter("streammon.dead_letters.delivery_failures", () => new Measurement<long>(DeliveryFailures, _serviceTag),
            description: "Attempts to write a dead letter that failed (queue refusal or delivery error).");
        _meter.CreateObservableGauge("streammon.dead_letters.blocking", () => new Measurement<long>(Blocking, _serviceTag),
            description: "Dead letters failed and not yet written; each holds back its source partition's offset commits.");
    }

    /// <summary>Creates a publisher with its own producer built from <paramref name="options"/>.</summary>
    public static DeadLetterPublisher Create(KafkaOptions options, string service, EventCodec codec, ILogger logger, DeadLetterRetryPolicy? retry = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var producer = new ProducerBuilder<byte[], byte[]>(KafkaClientConfig.Producer(options, $"{service}-deadletter")).Build();
        return new DeadLetterPublisher(producer, ownsProducer: true, options.Topics, service, codec, logger, null, retry);
    }

    /// <summary>Dead letters handed to <see cref="Publish(DeadLetter)"/>, per reason code (including undelivered ones).</summary>
    public IReadOnlyDictionary<string, long> CountsByReason => _counts;

    /// <summary>Dead letters handed over in total.</summary>
    public long Total => _counts.Values.Sum();

    /// <summary>Dead letters acknowledged by the cluster.</summary>
    public long Delivered => Interlocked.Read(ref _delivered);

    /// <summary>Failed attempts to write a dead letter (each one logged as an error); a retried letter counts once per failure.</summary>
    public long DeliveryFailures => Interlocked.Read(ref _failures);

    /// <summary>Dead letters given up on after <see cref="DeadLetterRetryPolicy.MaxAttempts"/> (in total).</summary>
    public long Abandoned => Interlocked.Read(ref _abandoned);

    /// <summary>Dead letters that failed and wait for another attempt by <see cref="Flush"/>.</summary>
    public long Retrying
    {
        get
        {
            lock (_lock)
            {
                return _failed.Count(l => !l.GivenUp);
            }
        }
    }

    /// <summary>Dead letters that failed and are not written yet (waiting for a retry, or given up on); each holds back its source offset.</summary>
    public long Blocking
    {
        get
        {
            lock (_lock)
            {
                return _failed.Count;
            }
        }
    }

    /// <summary>Dead-letters a consumed record, keeping its key and value (up to <see cref="DeadLetter.DefaultMaxPayloadBytes"/>).</summary>
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
        var source = new TopicPartition(letter.SourceTopic, letter.SourcePartition);
        byte[] value;
        try
        {
            value = _codec.Serialize(letter);
        }
        catch (Exception ex) when (ex is Avro.AvroException or ArgumentException or InvalidOperationException)
        {
            // Nothing to retry with: the letter blocks its offset until a restart re-processes the record.
            var unencodable = new Letter(source, letter.SourceOffset, letter.ReasonCode, null) { Attempts = _retry.MaxAttempts };
            Track(unencodable);
            Failed(unencodable, $"cannot be encoded: {ex.Message}");
            return;
        }

        var pending = new Letter(source, letter.SourceOffset, letter.ReasonCode,
            new Message<byte[], byte[]> { Key = DeadLetter.KeyOf(letter.SourceTopic, letter.SourcePartition, letter.SourceOffset), Value = value });
        Track(pending);
        Send(pending);
    }

    /// <summary>
    /// Tries the failed dead letters whose backoff has passed again, then waits until every dead letter handed over so
    /// far is acknowledged or failed. True when none is left unresolved; false on timeout or when some failed (they
    /// keep blocking their source offsets: commit only <see cref="SafeCommitOffset(TopicPartition, Offset)"/>).
    /// </summary>
    public bool Flush(TimeSpan timeout)
    {
        List<Letter> due;
        var now = _time.GetUtcNow();
        lock (_lock)
        {
            due = _failed.Where(l => !l.GivenUp && l.NextAttempt <= now).ToList();
            _failed.RemoveAll(due.Contains);
        }

        foreach (var letter in due)
        {
            Send(letter);
        }

        var queued = _producer.Flush(timeout);
        lock (_lock)
        {
            return queued == 0 && _unresolved.Count == 0;
        }
    }

    /// <summary>
    /// The offset a caller may commit for <paramref name="source"/> when it has processed everything before
    /// <paramref name="desired"/>: <paramref name="desired"/>, or the source offset of the partition's oldest dead
    /// letter that is not written yet, whichever is lower (so that record is read again after a restart). Logical
    /// offsets (beginning, end, unset) are returned as they are.
    /// </summary>
    public Offset SafeCommitOffset(TopicPartition source, Offset desired)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (desired.IsSpecial)
        {
            return desired;
        }

        lock (_lock)
        {
            return _unresolved.TryGetValue(source, out var offsets) && offsets.Min < desired.Value ? new Offset(offsets.Min) : desired;
        }
    }

    /// <summary><see cref="SafeCommitOffset(TopicPartition, Offset)"/> of each offset.</summary>
    public List<TopicPartitionOffset> SafeCommitOffsets(IEnumerable<TopicPartitionOffset> desired)
    {
        ArgumentNullException.ThrowIfNull(desired);
        return [.. desired.Select(o => new TopicPartitionOffset(o.TopicPartition, SafeCommitOffset(o.TopicPartition, o.Offset)))];
    }

    /// <summary>
    /// Forgets the unresolved dead letters of a partition this process no longer owns (revoked or lost): its new owner
    /// reads from the last commit, which stayed below them, and dead-letters those records again.
    /// </summary>
    public void Release(TopicPartition source)
    {
        ArgumentNullException.ThrowIfNull(source);
        lock (_lock)
        {
            if (_unresolved.Remove(source))
            {
                _failed.RemoveAll(l => l.Source == source);
            }
        }
    }

    /// <summary>Flushes and, when it owns the producer, disposes it.</summary>
    public void Dispose()
    {
        if (_ownsProducer)
        {
            if (_producer.Flush(TimeSpan.FromSeconds(10)) > 0)
            {
                _logger.LogError("Dead-letter publisher of {Service} closed with undelivered records", _service);
            }

            _producer.Dispose();
        }

        _meter.Dispose();
    }

    private void Send(Letter letter)
    {
        letter.Attempts++;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                _producer.Produce(_topic, letter.Message!, report => OnDelivery(report, letter));
                return;
            }
            catch (ProduceException<byte[], byte[]> ex) when (ex.Error.Code == ErrorCode.Local_QueueFull && attempt < QueueFullAttempts)
            {
                // Backpressure rather than loss: let the queue drain a little (Flush, unlike Poll, works whether or
                // not the producer polls in the background, as KafkaClientConfig's producers do).
                _producer.Flush(QueueFullWait);
            }
            catch (KafkaException ex)
            {
                Failed(letter, $"could not be queued: {ex.Error.Code}: {ex.Error.Reason}");
                return;
            }
        }
    }

    private void OnDelivery(DeliveryReport<byte[], byte[]> report, Letter letter)
    {
        if (report.Error.IsError)
        {
            Failed(letter, $"was not delivered: {report.Error.Code}: {report.Error.Reason}");
            return;
        }

        Interlocked.Increment(ref _delivered);
        lock (_lock)
        {
            // The record's dead letter is on the topic: letters for the same source offset (a retry racing a
            // re-processed record) no longer hold anything back.
            if (_unresolved.TryGetValue(letter.Source, out var offsets) && offsets.Remove(letter.SourceOffset) && offsets.Count == 0)
            {
                _unresolved.Remove(letter.Source);
            }

            _failed.RemoveAll(l => l.Source == letter.Source && l.SourceOffset == letter.SourceOffset);
        }
    }

    private void Track(Letter letter)
    {
        lock (_lock)
        {
            if (!_unresolved.TryGetValue(letter.Source, out var offsets))
            {
                _unresolved[letter.Source] = offsets = [];
            }

            offsets.Add(letter.SourceOffset);
        }
    }

    private void Failed(Letter letter, string error)
    {
        Interlocked.Increment(ref _failures);
        var giveUp = letter.Attempts >= _retry.MaxAttempts;
        lock (_lock)
        {
            if (!_unresolved.TryGetValue(letter.Source, out var offsets) || !offsets.Contains(letter.SourceOffset))
            {
                // Delivered meanwhile by another letter for the same record, or released with its partition.
                return;
            }

            if (giveUp)
            {
                // Only its coordinates are kept: the record is dead-lettered again when it is re-processed.
                letter.GivenUp = true;
                letter.Message = null;
                Interlocked.Increment(ref _abandoned);
            }
            else
            {
                letter.NextAttempt = _time.GetUtcNow() + _retry.BackoffAfter(letter.Attempts);
            }

            _failed.Add(letter);
        }

        if (giveUp)
        {
            _logger.LogError("Dead letter {SourceTopic}/{SourcePartition}/{SourceOffset} ({ReasonCode}) of {Service} {Error}; given up after {Attempts} attempts: offset commits of {SourceTopic}[{SourcePartition}] stay at {SourceOffset} until a restart re-processes the record",
                letter.Source.Topic, letter.Source.Partition.Value, letter.SourceOffset, letter.ReasonCode, _service, error, letter.Attempts, letter.Source.Topic, letter.Source.Partition.Value, letter.SourceOffset);
        }
        else
        {
            _logger.LogError("Dead letter {SourceTopic}/{SourcePartition}/{SourceOffset} ({ReasonCode}) of {Service} {Error}; attempt {Attempts} of {MaxAttempts}, retried by the next flush; offset commits stay below it",
                letter.Source.Topic, letter.Source.Partition.Value, letter.SourceOffset, letter.ReasonCode, _service, error, letter.Attempts, _retry.MaxAttempts);
        }
    }

    /// <summary>One dead letter on its way: where it came from, its encoded record and its attempts.</summary>
    private sealed class Letter(TopicPartition source, long sourceOffset, string reasonCode, Message<byte[], byte[]>? message)
    {
        public TopicPartition Source { get; } = source;

        public long SourceOffset { get; } = sourceOffset;

        public string ReasonCode { get; } = reasonCode;

        public Message<byte[], byte[]>? Message { get; set; } = message;

        public int Attempts { get; set; }

        public bool GivenUp { get; set; }

        public DateTimeOffset NextAttempt { get; set; }
    }
}
