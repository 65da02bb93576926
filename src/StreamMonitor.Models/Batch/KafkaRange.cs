using System.Runtime.CompilerServices;
using System.Text;
using Confluent.Kafka;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.Validation;
using StreamMonitor.Kafka;
using StreamMonitor.Models.Inference;

namespace StreamMonitor.Models.Batch;

/// <summary>A half-open offset range [From, To) of one partition.</summary>
/// <param name="Partition">Partition.</param>
/// <param name="From">First offset read.</param>
/// <param name="To">First offset not read.</param>
public readonly record struct PartitionRange(int Partition, long From, long To)
{
    /// <summary>Records in the range.</summary>
    public long Count => Math.Max(0, To - From);
}

/// <summary>
/// Reads bounded ranges of a topic for batch scoring: resolves offset or record-timestamp bounds per partition and
/// streams the records in between. Timestamp bounds use the broker's OffsetsForTimes where it works; where it does
/// not (librdkafka's mock cluster answers End), a binary search over record timestamps reading single records
/// (which assumes timestamps do not decrease within a partition, as with LogAppendTime or an ordered producer).
/// Records are decoded and validated as the streaming scorer does them (identifiers, event time against the record
/// timestamp): a refused record comes out as a refused <see cref="BatchInput"/>, keyed by its coordinates when its
/// event id is not valid.
/// </summary>
public sealed class KafkaRange : IDisposable
{
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Longest wait for the next record of a range before the read fails (the records are not there).</summary>
    private static readonly TimeSpan RecordTimeout = TimeSpan.FromSeconds(60);
    private readonly IConsumer<byte[], byte[]> _consumer;
    private readonly FeatureEventDecoder _decoder;
    private readonly RecordPolicy _policy;

    /// <summary>Opens a group-less reader (it never commits); event times are judged by <paramref name="eventTime"/> (default: <see cref="EventTimePolicy.Default"/>).</summary>
    public KafkaRange(KafkaOptions options, string topic, EventTimePolicy? eventTime = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        Topic = topic;
        var codec = new EventCodec();
        _decoder = new FeatureEventDecoder(codec);
        _policy = new RecordPolicy(codec, eventTime);
        var config = KafkaClientConfig.Consumer(options, "streammon-score-" + Guid.NewGuid().ToString("N"), "streammon-score");
        config.EnablePartitionEof = true;
        _consumer = new ConsumerBuilder<byte[], byte[]>(config).Build();
    }

    /// <summary>Topic read.</summary>
    public string Topic { get; }

    /// <summary>Partitions of the topic.</summary>
    public IReadOnlyList<int> Partitions()
    {
        using var admin = new DependentAdminClientBuilder(_consumer.Handle).Build();
        var metadata = admin.GetMetadata(Topic, ReadTimeout);
        var topic = metadata.Topics.SingleOrDefault(t => t.Topic == Topic);
        if (topic is null || topic.Error.IsError)
        {
            throw new InvalidOperationException($"Topic {Topic} not found: {topic?.Error.Reason}");
        }

        return topic.Partitions.Select(p => p.PartitionId).Order().ToArray();
    }

    /// <summary>Low and high watermarks of a partition (from the broker).</summary>
    public WatermarkOffsets Watermarks(int partition) => _consumer.QueryWatermarkOffsets(new TopicPartition(Topic, partition), ReadTimeout);

    /// <summary>First offset whose record timestamp is at or after <paramref name="timestampMs"/> (high watermark if none).</summary>
    public long OffsetForTime(int partition, long timestampMs)
    {
        var tp = new TopicPartition(Topic, partition);
        var marks = Watermarks(partition);
        if (marks.High.Value <= marks.Low.Value)
        {
            return marks.High.Value;
        }

        try
        {
            var answer = _consumer.OffsetsForTimes([new TopicPartitionTimestamp(tp, new Timestamp(timestampMs, TimestampType.CreateTime))], ReadTimeout).Single();
            if (answer.Offset.Value >= 0)
            {
                return answer.Offset.Value;
            }
        }
        catch (KafkaException)
        {
            // Not supported by this broker: fall through to the search.
        }

        // End is a legitimate answer only if the last record is older than the bound; otherwise the broker did not
        // look (the mock cluster), so search.
        if (TimestampAt(partition, marks.High.Value - 1) < timestampMs)
        {
            return marks.High.Value;
        }

        long low = marks.Low.Value, high = marks.High.Value - 1; // invariant: answer in [low, high]
        while (low < high)
        {
            var mid = low + ((high - low) / 2);
            if (TimestampAt(partition, mid) >= timestampMs)
            {
                high = mid;
            }
            else
            {
                low = mid + 1;
            }
        }

        return low;
    }

    /// <summary>Streams the records of <paramref name="ranges"/> as batch inputs, decoding each FeatureEvent.</summary>
    public async IAsyncEnumerable<BatchInput> ReadAsync(IReadOnlyList<PartitionRange> ranges, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var (record, consumeTicks) in Records(ranges, cancellationToken))
        {
            yield return Decode(record) with { ConsumeTicks = consumeTicks };
        }
    }

    /// <summary>
    /// Streams the records of <paramref name="ranges"/> as batch inputs for <paramref name="session"/>: a valid event
    /// of its model comes with its features already decoded into an input row (<see cref="FeatureRowDecoder"/>, no
    /// FeatureEvent built); every other record is decoded and refused exactly as <see cref="ReadAsync(IReadOnlyList{PartitionRange}, CancellationToken)"/>
    /// does it. Rows live in slabs of about 64 KiB that this enumeration allocates and never reuses, so a row stays
    /// valid for as long as its input is referenced.
    /// </summary>
    public async IAsyncEnumerable<BatchInput> ReadAsync(IReadOnlyList<PartitionRange> ranges, ModelSession session, FeatureValidator validator,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(session);
        var rows = new FeatureRowDecoder(session, validator, _policy.Codec, _policy.EventTime);
        var modelName = session.Model.Manifest.Name;
        var width = rows.Width;
        var slabRows = Math.Max(1, 16_384 / Math.Max(1, width));
        float[] slab = [];
        double[] slabDouble = [];
        var used = slabRows;
        foreach (var (record, consumeTicks) in Records(ranges, cancellationToken))
        {
            if (used == slabRows)
            {
                // A fresh slab: the inputs already handed out still point into the previous one.
                (slab, slabDouble) = rows.InputIsDouble ? (slab, new double[slabRows * width]) : (new float[slabRows * width], slabDouble);
                used = 0;
            }

            var timestamp = record.Message.Timestamp;
            long? recordTimestampMs = timestamp.Type == TimestampType.NotAvailable ? null : timestamp.UnixTimestampMs;
            var value = record.Message.Value;
            var offset = used * width;
            BatchInput input;
            if (rows.InputIsDouble && rows.TryDecode(value, recordTimestampMs, slabDouble.AsSpan(offset, width), out var decoded))
            {
                input = BatchInput.Decoded(decoded, modelName, recordTimestampMs ?? 0, slabDouble.AsMemory(offset, width));
                used++;
            }
            else if (!rows.InputIsDouble && rows.TryDecode(value, recordTimestampMs, slab.AsSpan(offset, width), out decoded))
            {
                input = BatchInput.Decoded(decoded, modelName, recordTimestampMs ?? 0, slab.AsMemory(offset, width));
                used++;
            }
            else
            {
                input = Decode(record);
            }

            yield return input with { ConsumeTicks = consumeTicks };
        }
    }

    /// <summary>The records of <paramref name="ranges"/> (the shared range reader), each with when it came out of the client.</summary>
    private IEnumerable<(ConsumeResult<byte[], byte[]> Record, long ConsumeTicks)> Records(IReadOnlyList<PartitionRange> ranges, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ranges);
        var partitions = ranges.Select(r => new TopicPartitionRange(new TopicPartition(Topic, r.Partition), r.From, r.To));
        return PartitionRangeReader.Records(_consumer, partitions, RecordTimeout, cancellationToken).Select(record => (record, PredictionClock.Now));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _consumer.Close();
        _consumer.Dispose();
    }

    private BatchInput Decode(ConsumeResult<byte[], byte[]> record)
    {
        var timestamp = record.Message.Timestamp;
        long? recordTimestampMs = timestamp.Type == TimestampType.NotAvailable ? null : timestamp.UnixTimestampMs;
        var coordinates = Encoding.UTF8.GetString(DeadLetter.KeyOf(record.Topic, record.Partition.Value, record.Offset.Value));
        if (record.Message.Value is not { Length: > 0 } value)
        {
            return BatchInput.Refused(ReasonCodes.EmptyRecord, "The record has no value; a FeatureEvent was expected.", coordinates, recordTimestampMs ?? 0);
        }

        return _decoder.TryDecode(value, out var featureEvent, out var error)
            ? BatchInput.Validate(_policy, featureEvent!, recordTimestampMs, coordinates, recordTimestampMs ?? 0)
            : BatchInput.Refused(error!.ReasonCode, error.Message, coordinates, recordTimestampMs ?? 0);
    }

    private long TimestampAt(int partition, long offset)
    {
        _consumer.Assign(new TopicPartitionOffset(Topic, partition, offset));
        try
        {
            var deadline = DateTime.UtcNow + ReadTimeout;
            while (DateTime.UtcNow < deadline)
            {
                var record = _consumer.Consume(TimeSpan.FromMilliseconds(200));
                if (record is { IsPartitionEOF: false } && record.Offset.Value == offset)
                {
                    return record.Message.Timestamp.UnixTimestampMs;
                }
            }

            throw new TimeoutException($"Could not read {Topic}[{partition}]@{offset}.");
        }
        finally
        {
            _consumer.Unassign();
        }
    }
}
