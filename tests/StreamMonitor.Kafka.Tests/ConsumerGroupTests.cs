using System.Collections.Concurrent;
using Confluent.Kafka;
using StreamMonitor.Contracts;
using StreamMonitor.Testing;

namespace StreamMonitor.Kafka.Tests;

/// <summary>Consumer groups on the embedded cluster split partitions between members.</summary>
public sealed class ConsumerGroupTests(EmbeddedKafkaFixture kafka) : IClassFixture<EmbeddedKafkaFixture>
{
    [Fact]
    public async Task Two_members_of_a_group_split_the_partitions_and_together_read_every_record_once()
    {
        var options = kafka.CreateOptions();
        var topic = options.Topics.Features;
        const string group = "split-test";
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var received = new ConcurrentDictionary<string, int>();
        var assignments = new ConcurrentDictionary<string, int[]>();

        Task Member(string name) => Task.Factory.StartNew(() =>
        {
            using var consumer = kafka.CreateConsumer(options, group, name);
            consumer.Subscribe(topic);
            while (!stop.IsCancellationRequested)
            {
                var result = consumer.Consume(TimeSpan.FromMilliseconds(100));
                assignments[name] = consumer.Assignment.Select(tp => tp.Partition.Value).Order().ToArray();
                if (result is { IsPartitionEOF: false })
                {
                    received.AddOrUpdate($"{name}|{result.Partition.Value}|{result.Message.KeyString()}", 1, (_, n) => n + 1);
                }
            }

            consumer.Close();
        }, TaskCreationOptions.LongRunning);

        var first = Member("member-a");
        var second = Member("member-b");
        while (!(assignments.TryGetValue("member-a", out var a) && assignments.TryGetValue("member-b", out var b) && a.Length > 0 && b.Length > 0))
        {
            await Task.Delay(100, stop.Token);
        }

        var split = assignments.Values.ToList();
        Assert.Empty(split[0].Intersect(split[1]));
        Assert.Equal(Enumerable.Range(0, options.Topics.InputPartitions), split.SelectMany(p => p).Order());

        const int count = 200;
        for (var i = 0; i < count; i++)
        {
            await kafka.ProduceAsync(topic, $"k-{i}", new FeatureEvent { EventId = $"k-{i}", ModelName = "m", EntityId = "e", EventTimeMs = i });
        }

        while (received.Count < count && !stop.IsCancellationRequested)
        {
            await Task.Delay(100);
        }

        await stop.CancelAsync();
        await Task.WhenAll(first, second);

        Assert.Equal(count, received.Count);
        Assert.All(received.Values, n => Assert.Equal(1, n));
        Assert.Equal(count, received.Keys.Select(k => k.Split('|')[2]).Distinct().Count());
        // Each member read only the partitions it was assigned, and both read some.
        foreach (var (member, partitions) in assignments)
        {
            var read = received.Keys.Where(k => k.StartsWith(member + "|", StringComparison.Ordinal)).Select(k => int.Parse(k.Split('|')[1], System.Globalization.CultureInfo.InvariantCulture)).Distinct();
            Assert.NotEmpty(read);
            Assert.All(read, p => Assert.Contains(p, partitions));
        }
    }
}
