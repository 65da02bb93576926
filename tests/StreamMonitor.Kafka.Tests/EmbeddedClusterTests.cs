using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using StreamMonitor.Contracts;
using StreamMonitor.Kafka;
using StreamMonitor.Testing;

namespace StreamMonitor.Kafka.Tests;

/// <summary>The embedded cluster process serves real Kafka clients; the dead-letter publisher works through it.</summary>
public sealed class EmbeddedClusterTests(EmbeddedKafkaFixture kafka) : IClassFixture<EmbeddedKafkaFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Produced_events_are_consumed_back_with_keys_and_partitions_by_murmur2()
    {
        var options = kafka.CreateOptions();
        var sent = Enumerable.Range(0, 200).Select(i => new Label { EventId = $"e-{i}", Value = i % 2, LabelTimeMs = 1_700_000_000_000 + i }).ToList();
        foreach (var label in sent)
        {
            await kafka.ProduceAsync(options.Topics.Labels, label.EventId, label);
        }

        var received = await kafka.ConsumeAllAsync<Label>(options.Topics.Labels, Timeout);

        Assert.Equal(sent.Select(l => l.EventId).Order(), received.Select(r => r.Value.EventId).Order());
        Assert.All(received, r => Assert.Equal(r.Key, r.Value.EventId));
        // Same key, same partition: the catalog's 4 partitions are all used and each key sticks to one.
        Assert.Equal(options.Topics.InputPartitions, received.Select(r => r.Partition).Distinct().Count());
        var again = await kafka.ProduceAsync(options.Topics.Labels, "e-7", sent[7]);
        Assert.Equal(received.Single(r => r.Key == "e-7").Partition, again.Partition.Value);
    }

    [Fact]
    public async Task Dead_letters_are_keyed_by_source_position_and_counted_per_reason()
    {
        var options = kafka.CreateOptions();
        await kafka.ProduceRawAsync(options.Topics.Features, "bad-1", [0x01, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        await kafka.ProduceRawAsync(options.Topics.Features, "bad-2", [0xC3, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        var inputs = await kafka.ConsumeRawAllAsync(options.Topics.Features, Timeout);
        Assert.Equal(2, inputs.Count);

        var codec = new EventCodec();
        using (var publisher = DeadLetterPublisher.Create(options, "test", codec, NullLogger.Instance))
        {
            foreach (var input in inputs)
            {
                Assert.False(codec.TryDeserialize<FeatureEvent>(input.Message.Value, out _, out var error));
                publisher.Publish(input, error!);
            }

            Assert.True(publisher.Flush(Timeout));
            Assert.Equal(2, publisher.Delivered);
            Assert.Equal(0, publisher.DeliveryFailures);
            Assert.Equal(1, publisher.CountsByReason["DECODE_BAD_MARKER"]);
            Assert.Equal(1, publisher.CountsByReason["DECODE_UNKNOWN_FINGERPRINT"]);
        }

        var letters = await kafka.ConsumeAllAsync<DeadLetter>(options.Topics.DeadLetter, Timeout);
        Assert.Equal(2, letters.Count);
        foreach (var input in inputs)
        {
            var letter = letters.Single(l => l.Key == $"{input.Topic}/{input.Partition.Value}/{input.Offset.Value}").Value;
            Assert.Equal("test", letter.Service);
            Assert.Equal(input.Message.Value, letter.Payload);
            Assert.Equal(input.Message.Key, letter.Key);
            Assert.StartsWith("DECODE_", letter.ReasonCode, StringComparison.Ordinal);
            Assert.True(letter.ObservedAtMs > 0);
        }
    }
}
