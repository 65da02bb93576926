using Confluent.Kafka;
using StreamMonitor.Testing;

namespace StreamMonitor.Kafka.Tests;

/// <summary>
/// The shared range reader over several partitions at once: every record of each range exactly once and in offset
/// order, nothing outside the ranges, a clear failure when records do not come or a partition ends early.
/// </summary>
public sealed class PartitionRangeRecordsTests(EmbeddedKafkaFixture kafka) : IClassFixture<EmbeddedKafkaFixture>
{
    [Fact]
    public async Task Several_partitions_read_at_once_give_each_range_exactly_in_offset_order()
    {
        var options = kafka.CreateOptions();
        var topic = options.Topics.Labels;
        for (var i = 0; i < 120; i++)
        {
            await kafka.ProduceRawAsync(topic, $"k-{i}", [(byte)i]);
        }

        using var consumer = Consumer(options, eof: true);
        var high = Enumerable.Range(0, options.Topics.InputPartitions)
            .ToDictionary(p => p, p => consumer.QueryWatermarkOffsets(new TopicPartition(topic, p), TimeSpan.FromSeconds(10)).High.Value);
        Assert.True(high.Values.All(h => h >= 6), string.Join(", ", high));

        // Partition 0 whole, partition 1 from its third record, partition 2 only its first two, partition 3 empty.
        var ranges = new[]
        {
            new TopicPartitionRange(new TopicPartition(topic, 0), 0, high[0]),
            new TopicPartitionRange(new TopicPartition(topic, 1), 2, high[1]),
            new TopicPartitionRange(new TopicPartition(topic, 2), 0, 2),
            new TopicPartitionRange(new TopicPartition(topic, 3), 4, 4),
        };
        var read = PartitionRangeReader.Records(consumer, ranges, TimeSpan.FromSeconds(30)).ToList();

        foreach (var range in ranges)
        {
            var offsets = read.Where(r => r.TopicPartition == range.Partition).Select(r => r.Offset.Value);
            Assert.Equal(Enumerable.Range((int)range.From, (int)range.Count).Select(o => (long)o), offsets);
        }

        Assert.Equal(ranges.Sum(r => r.Count), read.Count);
        Assert.Empty(consumer.Assignment);
    }

    [Fact]
    public async Task A_range_past_the_end_fails_with_the_partition_end_or_a_timeout_and_cancellation_stops_the_read()
    {
        var options = kafka.CreateOptions();
        var topic = options.Topics.Labels;
        var first = await kafka.ProduceRawAsync(topic, "only", [1]);
        var tp = first.TopicPartition;
        var beyond = new[] { new TopicPartitionRange(tp, 0, first.Offset.Value + 5) };

        // With end-of-partition events the early end is named at once.
        using (var consumer = Consumer(options, eof: true))
        {
            var ended = Assert.Throws<InvalidOperationException>(() => PartitionRangeReader.Records(consumer, beyond, TimeSpan.FromSeconds(30)).ToList());
            Assert.Contains($"ended at {first.Offset.Value + 1}, before the requested end {first.Offset.Value + 5}", ended.Message, StringComparison.Ordinal);
        }

        // Without them, the per-record timeout ends the wait.
        using (var consumer = Consumer(options, eof: false))
        {
            var started = DateTime.UtcNow;
            Assert.Throws<TimeoutException>(() => PartitionRangeReader.Records(consumer, beyond, TimeSpan.FromSeconds(2)).ToList());
            Assert.InRange(DateTime.UtcNow - started, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(30));
            Assert.Empty(consumer.Assignment);

            using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            Assert.ThrowsAny<OperationCanceledException>(() => PartitionRangeReader.Records(consumer, beyond, TimeSpan.FromMinutes(5), cancel.Token).ToList());
        }
    }

    private static IConsumer<byte[], byte[]> Consumer(KafkaOptions options, bool eof)
    {
        var config = KafkaClientConfig.Consumer(options, "range-test-" + Guid.NewGuid().ToString("N"), "range-test");
        config.EnablePartitionEof = eof;
        return new ConsumerBuilder<byte[], byte[]>(config).Build();
    }
}
