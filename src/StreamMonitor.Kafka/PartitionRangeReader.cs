using Confluent.Kafka;

namespace StreamMonitor.Kafka;

/// <summary>
/// Reads one partition from an offset up to a known high watermark with a plain (group-less) assignment: the one
/// reader of checkpoints, changelogs and compacted result topics (so no caller writes its own consume loop).
/// </summary>
public static class PartitionRangeReader
{
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
