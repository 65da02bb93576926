using Confluent.Kafka;

namespace StreamMonitor.Kafka;

/// <summary>
/// Records waiting for a consumer, from the high watermarks the client already knows (cached from fetch responses:
/// no broker round trip, cheap enough for every loop iteration). A partition whose watermark is not known yet counts
/// 0. While the brokers are unreachable the cached watermarks stay as last seen, so a loop that has not read up to
/// them keeps showing lag.
/// </summary>
public static class ConsumerLag
{
    /// <summary>Lag of the consumer's assigned partitions at its current positions.</summary>
    public static long Of<TKey, TValue>(IConsumer<TKey, TValue> consumer)
    {
        ArgumentNullException.ThrowIfNull(consumer);
        var lag = 0L;
        foreach (var partition in consumer.Assignment)
        {
            lag += Of(consumer, partition, consumer.Position(partition));
        }

        return lag;
    }

    /// <summary>Lag at the given next offsets (e.g. what a loop has processed, rather than what it has fetched).</summary>
    public static long Of<TKey, TValue>(IConsumer<TKey, TValue> consumer, IEnumerable<TopicPartitionOffset> positions)
    {
        ArgumentNullException.ThrowIfNull(consumer);
        ArgumentNullException.ThrowIfNull(positions);
        return positions.Sum(p => Of(consumer, p.TopicPartition, p.Offset));
    }

    private static long Of<TKey, TValue>(IConsumer<TKey, TValue> consumer, TopicPartition partition, Offset position)
    {
        var watermarks = consumer.GetWatermarkOffsets(partition);
        if (watermarks.High.IsSpecial)
        {
            return 0;
        }

        long from;
        if (!position.IsSpecial)
        {
            from = position.Value;
        }
        else if (position == Offset.Beginning)
        {
            from = watermarks.Low.IsSpecial ? 0 : watermarks.Low.Value;
        }
        else
        {
            // End, stored or not fetched yet: nothing is known to be waiting.
            return 0;
        }

        return Math.Max(0, watermarks.High.Value - from);
    }
}
