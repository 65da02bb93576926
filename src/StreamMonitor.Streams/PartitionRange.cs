using Confluent.Kafka;

namespace StreamMonitor.Streams;

/// <summary>Reads one partition from an offset up to a known high watermark with a plain (group-less) assignment.</summary>
internal static class PartitionRange
{
    /// <summary>
    /// Hands every record of [<paramref name="from"/>, <paramref name="high"/>) to <paramref name="onRecord"/> in offset
    /// order and returns the position reached (at least <paramref name="high"/>). An end-of-partition event also counts
    /// as reaching the end (with <c>enable.partition.eof</c>: compaction may have removed the records just below it).
    /// </summary>
    public static long Read(IConsumer<byte[], byte[]> consumer, TopicPartition partition, long from, long high, DateTime deadline, Action<ConsumeResult<byte[], byte[]>> onRecord)
    {
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
}
