using System.Collections.Concurrent;
using System.Diagnostics;
using Confluent.Kafka;
using StreamMonitor.Contracts;
using StreamMonitor.Kafka.Embedded;
using StreamMonitor.Testing;

namespace StreamMonitor.Kafka.Tests;

/// <summary>Faults injected through the control API reach clients, and the clients' settings ride them out.</summary>
public sealed class FaultInjectionTests(EmbeddedKafkaFixture kafka) : IClassFixture<EmbeddedKafkaFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    private static Label LabelFor(int i) => new() { EventId = $"ev-{i}", Value = i, LabelTimeMs = i };

    [Fact]
    public async Task A_broker_taken_down_and_brought_back_loses_no_acknowledged_message_and_duplicates_none()
    {
        var options = kafka.CreateOptions();
        var topic = options.Topics.Labels;
        var acknowledged = new ConcurrentBag<string>();
        var failed = new ConcurrentBag<string>();
        using var producer = kafka.CreateProducer(options, "down-up");
        const int count = 600;

        async Task ProduceRange(int from, int to)
        {
            var pending = new List<Task>();
            for (var i = from; i < to; i++)
            {
                var key = $"ev-{i}";
                pending.Add(producer.ProduceEventAsync(kafka.Codec, topic, key, LabelFor(i)).ContinueWith(
                    t => (t.IsCompletedSuccessfully ? acknowledged : failed).Add(key), TaskScheduler.Default));
                if (i % 20 == 0)
                {
                    await Task.Delay(5);
                }
            }

            await Task.WhenAll(pending);
        }

        var before = ProduceRange(0, 200);
        await kafka.Faults.SetBrokerDownAsync(1);
        var during = ProduceRange(200, 400);
        await Task.Delay(TimeSpan.FromSeconds(3));
        await kafka.Faults.SetBrokerUpAsync(1);
        await Task.WhenAll(before, during, ProduceRange(400, count));

        var records = await kafka.ConsumeAllAsync<Label>(topic, Timeout);
        var stored = records.Select(r => r.Key).ToList();
        Assert.Empty(failed);
        Assert.Equal(count, acknowledged.Count);
        Assert.Equal(stored.Count, stored.Distinct().Count());
        Assert.Empty(acknowledged.Except(stored));
        Assert.All(records, r => Assert.Equal(r.Key, r.Value.EventId));
    }

    [Fact]
    public async Task Injected_produce_errors_reach_the_client_and_retriable_ones_are_retried_without_duplicates()
    {
        var options = kafka.CreateOptions();
        var topic = options.Topics.Labels;

        // A permanent error fails the delivery with exactly the injected code (no idempotence: nothing to re-sequence).
        var plain = KafkaClientConfig.Producer(options, "errors-plain");
        plain.EnableIdempotence = false;
        plain.MessageSendMaxRetries = 0;
        using (var producer = new ProducerBuilder<byte[], byte[]>(plain).Build())
        {
            await kafka.Faults.PushRequestErrorsAsync(KafkaApiKey.Produce, [ErrorCode.MsgSizeTooLarge]);
            var error = await Assert.ThrowsAsync<ProduceException<byte[], byte[]>>(() => producer.ProduceEventAsync(kafka.Codec, topic, "ev-0", LabelFor(0)));
            Assert.Equal(ErrorCode.MsgSizeTooLarge, error.Error.Code);
        }

        // Retriable errors are absorbed by the idempotent producer: one copy of the record, no error.
        using (var producer = kafka.CreateProducer(options, "errors-idempotent"))
        {
            await kafka.Faults.PushRequestErrorsAsync(KafkaApiKey.Produce, [ErrorCode.NotLeaderForPartition, ErrorCode.RequestTimedOut, ErrorCode.NotEnoughReplicas]);
            var delivered = await producer.ProduceEventAsync(kafka.Codec, topic, "ev-1", LabelFor(1));
            Assert.Equal(PersistenceStatus.Persisted, delivered.Status);
        }

        var records = await kafka.ConsumeAllAsync<Label>(topic, Timeout);
        Assert.Equal(["ev-1"], records.Select(r => r.Key));
    }

    [Fact]
    public async Task Added_round_trip_time_delays_acknowledgements_until_removed()
    {
        var options = kafka.CreateOptions();
        var topic = options.Topics.Labels;
        using var producer = kafka.CreateProducer(options, "rtt");
        await producer.ProduceEventAsync(kafka.Codec, topic, "warm-up", LabelFor(0));

        async Task<TimeSpan> TimeOne(int i)
        {
            var watch = Stopwatch.StartNew();
            await producer.ProduceEventAsync(kafka.Codec, topic, $"ev-{i}", LabelFor(i));
            return watch.Elapsed;
        }

        await kafka.Faults.SetBrokerRttAsync(-1, TimeSpan.FromMilliseconds(600));
        var slow = await TimeOne(1);
        await kafka.Faults.SetBrokerRttAsync(-1, TimeSpan.Zero);
        await TimeOne(2);
        var fast = await TimeOne(3);

        Assert.True(slow >= TimeSpan.FromMilliseconds(550), $"with 600 ms RTT an acknowledgement took {slow.TotalMilliseconds} ms");
        Assert.True(fast < TimeSpan.FromMilliseconds(500), $"without RTT an acknowledgement took {fast.TotalMilliseconds} ms");
    }

    [Fact]
    public async Task Records_survive_a_partition_leader_change()
    {
        var options = kafka.CreateOptions();
        var topic = options.Topics.Predictions;
        using var producer = kafka.CreateProducer(options, "leader");
        var partition = new TopicPartition(topic, 0);
        for (var i = 0; i < 30; i++)
        {
            if (i % 10 == 0)
            {
                await kafka.Faults.SetPartitionLeaderAsync(topic, 0, 1 + (i / 10 % kafka.BrokerCount));
            }

            await producer.ProduceAsync(partition, EventMessages.Create(kafka.Codec, $"ev-{i}", LabelFor(i)));
        }

        var records = await kafka.ConsumeRawAllAsync(topic, Timeout);
        Assert.Equal(Enumerable.Range(0, 30).Select(i => $"ev-{i}"), records.Select(r => r.Message.KeyString()));
    }

    [Fact]
    public async Task Control_api_reports_the_cluster_and_rejects_unknown_brokers()
    {
        var info = await kafka.Faults.GetClusterAsync();
        Assert.Equal(kafka.BootstrapServers, info.BootstrapServers);
        Assert.Equal(kafka.BrokerCount, info.BrokerCount);
        await Assert.ThrowsAsync<InvalidOperationException>(() => kafka.Faults.SetBrokerDownAsync(99));
    }
}
