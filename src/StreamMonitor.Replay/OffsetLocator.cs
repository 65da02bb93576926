using Confluent.Kafka;

namespace StreamMonitor.Replay;

/// <summary>How an offset was found.</summary>
public enum LocateMethod
{
    /// <summary>The broker's timestamp index (ListOffsets by time), confirmed by the records' own times.</summary>
    OffsetsForTimes,

    /// <summary>A binary search over the records' times (the broker has no usable timestamp index).</summary>
    BinarySearch,
}

/// <summary>
/// Finds, in one partition, the first offset whose record time is at or after a given time, assuming record times are
/// non-decreasing along the partition up to the caller's slack (the caller searches for <c>time - slack</c> and filters
/// exactly afterwards). A record's time comes from <c>timeOf</c>: the event time inside the record, because message
/// timestamps are stamped by producers on the wall clock and need not be event times. The broker's OffsetsForTimes is
/// tried first and trusted only when the records on both sides of its answer confirm it; otherwise (the librdkafka mock
/// cluster answers End; a topic whose timestamps are not event times) a binary search over the records' times runs,
/// costing about log2(partition length) single-record fetches.
/// </summary>
public sealed class OffsetLocator
{
    private readonly IConsumer<byte[], byte[]> _consumer;
    private readonly Func<ConsumeResult<byte[], byte[]>, long?> _timeOf;
    private readonly TimeSpan _fetchTimeout;

    /// <summary>Creates a locator probing with <paramref name="consumer"/> (assignment is changed by every probe).</summary>
    public OffsetLocator(IConsumer<byte[], byte[]> consumer, Func<ConsumeResult<byte[], byte[]>, long?> timeOf, TimeSpan fetchTimeout)
    {
        _consumer = consumer ?? throw new ArgumentNullException(nameof(consumer));
        _timeOf = timeOf ?? throw new ArgumentNullException(nameof(timeOf));
        _fetchTimeout = fetchTimeout;
    }

    /// <summary>Number of single-record fetches made so far.</summary>
    public int Probes { get; private set; }

    /// <summary>First offset in [low, high) whose record time is &gt;= <paramref name="timeMs"/>, or high if none.</summary>
    public (long Offset, LocateMethod Method) Locate(TopicPartition partition, long timeMs, long low, long high)
    {
        ArgumentNullException.ThrowIfNull(partition);
        if (low >= high)
        {
            return (high, LocateMethod.BinarySearch);
        }

        if (TryBrokerIndex(partition, timeMs, low, high) is { } fromBroker)
        {
            return (fromBroker, LocateMethod.OffsetsForTimes);
        }

        // Lower bound over f(o) = time of the first decodable record at or after o (infinite if none): f is
        // non-decreasing, so undecodable records go with the decodable record that follows them.
        var lo = low;
        var hi = high;
        while (lo < hi)
        {
            var mid = lo + ((hi - lo) / 2);
            var (offset, time) = ProbeFrom(partition, mid, hi);
            if (time >= timeMs)
            {
                hi = mid;
            }
            else
            {
                lo = offset + 1;
            }
        }

        return (lo, LocateMethod.BinarySearch);
    }

    private long? TryBrokerIndex(TopicPartition partition, long timeMs, long low, long high)
    {
        List<TopicPartitionOffset> answer;
        try
        {
            answer = _consumer.OffsetsForTimes([new TopicPartitionTimestamp(partition, new Timestamp(timeMs, TimestampType.CreateTime))], _fetchTimeout);
        }
        catch (KafkaException)
        {
            return null;
        }

        var offset = answer.Count == 1 ? answer[0].Offset : Offset.Unset;
        if (offset.IsSpecial || offset.Value < low || offset.Value > high)
        {
            return null;
        }

        // Trust the index only if the records' own times agree with it on both sides of the answer.
        var at = offset.Value < high ? ProbeFrom(partition, offset.Value, high) : (high, long.MaxValue);
        if (at.Item1 < high && at.Item2 < timeMs)
        {
            return null;
        }

        if (offset.Value > low)
        {
            var before = ProbeFrom(partition, offset.Value - 1, offset.Value);
            if (before.Offset < offset.Value && before.Time >= timeMs)
            {
                return null;
            }
        }

        return offset.Value;
    }

    /// <summary>The first record at or after <paramref name="offset"/> (before <paramref name="end"/>) with a time.</summary>
    private (long Offset, long Time) ProbeFrom(TopicPartition partition, long offset, long end)
    {
        _consumer.Assign(new TopicPartitionOffset(partition, offset));
        var deadline = DateTime.UtcNow + _fetchTimeout;
        while (DateTime.UtcNow < deadline)
        {
            var result = _consumer.Consume(TimeSpan.FromMilliseconds(100));
            if (result is null || result.IsPartitionEOF)
            {
                continue;
            }

            Probes++;
            if (result.Offset.Value >= end)
            {
                return (end, long.MaxValue);
            }

            if (_timeOf(result) is { } time)
            {
                return (result.Offset.Value, time);
            }

            deadline = DateTime.UtcNow + _fetchTimeout;
        }

        throw new TimeoutException($"No record at or after offset {offset} of {partition} within {_fetchTimeout.TotalSeconds:F0} s, although the high watermark is {end}.");
    }
}
