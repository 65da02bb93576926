using Confluent.Kafka;

namespace StreamMonitor.Kafka;

/// <summary>A half-open offset range [From, To) of one topic partition.</summary>
/// <param name="Partition">Topic and partition.</param>
/// <param name="From">First offset read.</param>
/// <param name="To">First offset not read.</param>
public readonly record struct TopicPartitionRange(TopicPartition Partition, long From, long To)
{
    /// <summary>Offsets in the range.</summary>
    public long Count => Math.Max(0, To - From);
}

/// <summary>
/// Reads bounded offset ranges with a plain (group-less) assignment: the one consume loop of checkpoints,
/// changelogs, compacted result topics, backfills (<see cref="Records"/>: several partitions at once), the profile
/// and replay copies, so no caller writes its own.
/// </summary>
public static class PartitionRangeReader
{
    /// <summary>Longest single poll, so cancellation is seen promptly while a partition is quiet.</summary>
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// The records of every range, several partitions assigned at once (their records interleave; each partition's
    /// come in offset order), ending when every partition has reached its <see cref="TopicPartitionRange.To"/>.
    /// Throws <see cref="TimeoutException"/> when no record arrives for <paramref name="recordTimeout"/> (the data
    /// is not there), and <see cref="InvalidOperationException"/> when a partition ends (an end-of-partition event,
    /// with <c>enable.partition.eof</c>) below its range's end. The consumer's assignment is its own while the
    /// enumeration runs and empty after it.
    /// </summary>
    public static IEnumerable<ConsumeResult<TKey, TValue>> Records<TKey, TValue>(IConsumer<TKey, TValue> consumer, IEnumerable<TopicPartitionRange> ranges,
        TimeSpan recordTimeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(consumer);
        ArgumentNullException.ThrowIfNull(ranges);
        var remaining = ranges.Where(r => r.Count > 0).ToDictionary(r => r.Partition);
        return remaining.Count == 0 ? [] : Iterate(consumer, remaining, recordTimeout, cancellationToken);
    }

    private static IEnumerable<ConsumeResult<TKey, TValue>> Iterate<TKey, TValue>(IConsumer<TKey, TValue> consumer, Dictionary<TopicPartition, TopicPartitionRange> remaining,
        TimeSpan recordTimeout, CancellationToken cancellationToken)
    {
        consumer.Assign(remaining.Values.Select(r => new TopicPartitionOffset(r.Partition, r.From)));
        try
        {
            var lastRecord = DateTime.UtcNow;
            while (remaining.Count > 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var record = consumer.Consume(Poll);
                if (record is null)
                {
                    if (DateTime.UtcNow - lastRecord > recordTimeout)
                    {
                        throw new TimeoutException($"No record from {string.Join(", ", remaining.Values.Select(r => $"{r.Partition} (offsets [{r.From}, {r.To}))"))} within {recordTimeout.TotalSeconds:F0} s.");
                    }

                    continue;
                }

                lastRecord = DateTime.UtcNow;
                if (!remaining.TryGetValue(record.TopicPartition, out var range))
                {
                    continue;
                }

                if (record.IsPartitionEOF || record.Offset.Value >= range.To)
                {
                    if (record.IsPartitionEOF && record.Offset.Value < range.To)
                    {
                        throw new InvalidOperationException($"{record.TopicPartition} ended at {record.Offset.Value}, before the requested end {range.To}.");
                    }

                    Done(record.TopicPartition);
                    continue;
                }

                yield return record;
                if (record.Offset.Value + 1 >= range.To)
                {
                    Done(record.TopicPartition);
                }
            }
        }
        finally
        {
            consumer.Unassign();
        }

        void Done(TopicPartition partition)
        {
            remaining.Remove(partition);
            consumer.IncrementalUnassign([partition]);
        }
    }

    /// <summary>
    /// Hands every record of [<paramref name="from"/>, <paramref name="high"/>) to <paramref name="onRecord"/> in offset
    /// order and returns the position reached (at least <paramref name="high"/>). An end-of-partition event also counts
    /// as reaching the end (with <c>enable.partition.eof</c>: compaction may have removed the records just below it).
    /// Throws <see cref="TimeoutException"/> when <paramref name="deadline"/> (UTC) passes first.
    /// </summary>
    public static long Read(IConsumer<byte[], byte[]> consumer, TopicPartition partition, long from, long high, DateTime deadline, Action<ConsumeResult<byte[], byte[]>> onRecord)
    {
        ArgumentNullException.ThrowIfNull(consumer);
        ArgumentNullException.ThrowIfNull(onRecord);
        var position = from;
        if (position >= high)
        {
            return position;
        }

        consumer.Assign(new TopicPartitionOffset(partition, position));
        try
        {
            while (position < high)
            {
                var remaining = deadline - DateTime.UtcNow;
                if (remaining <= TimeSpan.Zero)
                {
                    throw new TimeoutException($"Reading {partition} timed out at offset {position} of {high}.");
                }

                var record = consumer.Consume(remaining);
                if (record is null)
                {
                    continue;
                }

                if (record.IsPartitionEOF)
                {
                    position = Math.Max(position, record.Offset.Value);
                    continue;
                }

                position = record.Offset.Value + 1;
                onRecord(record);
            }
        }
        finally
        {
            consumer.Unassign();
        }

        return position;
    }

    /// <summary>
    /// Hands every record present now in <paramref name="partition"/> (low to high watermark) to
    /// <paramref name="onRecord"/> in offset order; watermarks are queried within the time left to <paramref name="deadline"/>.
    /// </summary>
    public static void ReadAll(IConsumer<byte[], byte[]> consumer, TopicPartition partition, DateTime deadline, Action<ConsumeResult<byte[], byte[]>> onRecord)
    {
        ArgumentNullException.ThrowIfNull(consumer);
        var remaining = deadline - DateTime.UtcNow;
        if (remaining <= TimeSpan.Zero)
        {
            throw new TimeoutException($"Reading {partition} timed out before its watermarks were known.");
        }

        var watermarks = consumer.QueryWatermarkOffsets(partition, remaining);
        Read(consumer, partition, watermarks.Low.Value, watermarks.High.Value, deadline, onRecord);
    }
}
