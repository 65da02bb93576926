using Confluent.Kafka;
using StreamMonitor.Kafka;

namespace StreamMonitor.Streams;

/// <summary>Reads a changelog topic partition from its beginning to its high watermark (plain assignment, no group).</summary>
public sealed class ChangelogReader : IDisposable
{
    private readonly IConsumer<byte[], byte[]> _consumer;

    /// <summary>Creates a reader.</summary>
    public ChangelogReader(KafkaOptions options, string clientId)
    {
        ArgumentNullException.ThrowIfNull(options);
        var config = KafkaClientConfig.Consumer(options, groupId: clientId + "-changelog-reader", clientId);
        // The end is known by an EOF event too: compaction may have removed the records just below the high watermark.
        config.EnablePartitionEof = true;
        _consumer = new ConsumerBuilder<byte[], byte[]>(config).Build();
    }

    /// <summary>Every record of <paramref name="partition"/> present now, in offset order.</summary>
    public List<ChangelogRecord> ReadAll(TopicPartition partition, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(partition);
        var records = new List<ChangelogRecord>();
        PartitionRangeReader.ReadAll(_consumer, partition, DateTime.UtcNow + timeout, record =>
        {
            if (record.Message.Key is { } key)
            {
                records.Add(new ChangelogRecord(key, record.Message.Value));
            }
        });
        return records;
    }

    /// <inheritdoc />
    public void Dispose() => _consumer.Dispose();
}
