using System.Diagnostics.Metrics;
using System.Security.Cryptography;
using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.Validation;
using StreamMonitor.Kafka.Embedded;
using StreamMonitor.Testing;

namespace StreamMonitor.Kafka.Tests;

/// <summary>
/// Dead letters are never lost behind a committed offset: a large one is delivered truncated with its envelope, and
/// one that cannot be written is counted, retried, and holds back its source partition's commits.
/// </summary>
public sealed class DeadLetterDeliveryTests(EmbeddedKafkaFixture kafka) : IClassFixture<EmbeddedKafkaFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private static readonly DeadLetterRetryPolicy FastRetry = new(3, TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(50));

    [Fact]
    public async Task A_record_near_1_MB_is_dead_lettered_truncated_with_its_size_and_sha256()
    {
        var options = kafka.CreateOptions();
        var payload = new byte[990_000];
        new Random(7).NextBytes(payload);
        await kafka.ProduceRawAsync(options.Topics.Features, "huge", payload);
        var input = Assert.Single(await kafka.ConsumeRawAllAsync(options.Topics.Features, Timeout));

        using (var publisher = DeadLetterPublisher.Create(options, "test", kafka.Codec, NullLogger.Instance))
        {
            publisher.Publish(input, ReasonCodes.DecodeBadMarker, "not Avro");
            Assert.True(publisher.Flush(Timeout));
            Assert.Equal((1, 0, 0), (publisher.Delivered, publisher.DeliveryFailures, publisher.Blocking));
            Assert.Equal(input.Offset.Value + 1, publisher.SafeCommitOffset(input.TopicPartition, input.Offset + 1).Value);
        }

        var letter = Assert.Single(await kafka.ConsumeAllAsync<DeadLetter>(options.Topics.DeadLetter, Timeout));
        Assert.Equal($"{input.Topic}/{input.Partition.Value}/{input.Offset.Value}", letter.Key);
        Assert.True(letter.Value.PayloadTruncated);
        Assert.Equal(payload.Length, letter.Value.OriginalSize);
        Assert.Equal(SHA256.HashData(payload), letter.Value.PayloadSha256);
        Assert.Equal(payload.AsSpan(0, DeadLetter.DefaultMaxPayloadBytes).ToArray(), letter.Value.Payload);
        Assert.Equal(ReasonCodes.DecodeBadMarker, letter.Value.ReasonCode);
    }

    [Fact]
    public async Task A_dead_letter_too_large_for_the_producer_is_counted_and_blocks_the_commit_of_its_record()
    {
        var options = kafka.CreateOptions();
        // One key: one partition, offsets 0, 1, 2; another key for a second partition.
        await kafka.ProduceRawAsync(options.Topics.Features, "k", [1, 2, 3]);
        await kafka.ProduceRawAsync(options.Topics.Features, "k", new byte[200_000]);
        await kafka.ProduceRawAsync(options.Topics.Features, "k", [4, 5, 6]);
        var inputs = (await kafka.ConsumeRawAllAsync(options.Topics.Features, Timeout)).OrderBy(r => r.Offset.Value).ToList();
        var big = inputs.Single(r => r.Message.Value.Length == 200_000);
        var partition = big.TopicPartition;
        Assert.Equal([0L, 1L, 2L], inputs.Select(r => r.Offset.Value));
        var next = 3L;

        // A producer limit below the envelope: even truncated to 512 KiB the dead letter does not fit 100 kB.
        options.Client["message.max.bytes"] = "100000";
        using var failures = new InstrumentReading(DeadLetterPublisher.MeterName, "streammon.dead_letters.delivery_failures", "too-large");
        using var publisher = DeadLetterPublisher.Create(options, "too-large", kafka.Codec, NullLogger.Instance, FastRetry);
        foreach (var input in inputs)
        {
            publisher.Publish(input, ReasonCodes.DecodeBadMarker, "not Avro");
        }

        Assert.False(publisher.Flush(Timeout));
        Assert.Equal((inputs.Count - 1, 1, 1), (publisher.Delivered, publisher.DeliveryFailures, publisher.Blocking));
        Assert.Equal(1, failures.Value);

        // The commit of the big record's partition stops at it; other partitions commit what they processed.
        Assert.Equal(big.Offset, publisher.SafeCommitOffset(partition, new Offset(next)));
        Assert.Equal(big.Offset, publisher.SafeCommitOffset(partition, big.Offset + 1));
        Assert.Equal(big.Offset, publisher.SafeCommitOffset(partition, big.Offset));
        Assert.Equal(new Offset(big.Offset.Value - 1), publisher.SafeCommitOffset(partition, new Offset(big.Offset.Value - 1)));
        Assert.Equal(new Offset(7), publisher.SafeCommitOffset(new TopicPartition(partition.Topic, partition.Partition.Value + 1), new Offset(7)));
        Assert.Equal(Offset.Beginning, publisher.SafeCommitOffset(partition, Offset.Beginning));

        // Retried on later flushes (bounded), then given up on; it keeps blocking until the record is re-processed.
        for (var i = 0; i < 5; i++)
        {
            await Task.Delay(60);
            Assert.False(publisher.Flush(Timeout));
        }

        Assert.Equal((FastRetry.MaxAttempts, 1L, 1L), (publisher.DeliveryFailures, publisher.Abandoned, publisher.Blocking));
        Assert.Equal(FastRetry.MaxAttempts, failures.Value);
        Assert.Equal(big.Offset, publisher.SafeCommitOffset(partition, new Offset(next)));

        // A partition given up (revoked) no longer holds anything back here: its next owner starts below the letter.
        publisher.Release(partition);
        Assert.Equal(new Offset(next), publisher.SafeCommitOffset(partition, new Offset(next)));
        Assert.Equal(0, publisher.Blocking);

        var letters = await kafka.ConsumeAllAsync<DeadLetter>(options.Topics.DeadLetter, Timeout);
        Assert.Equal(inputs.Where(r => r != big).Select(r => $"{r.Topic}/{r.Partition.Value}/{r.Offset.Value}").Order(), letters.Select(l => l.Key).Order());
    }

    [Fact]
    public async Task A_dead_letter_the_cluster_refuses_blocks_the_commit_until_a_retry_delivers_it()
    {
        var options = kafka.CreateOptions();
        await kafka.ProduceRawAsync(options.Topics.Features, "bad", [9, 9, 9]);
        var input = Assert.Single(await kafka.ConsumeRawAllAsync(options.Topics.Features, Timeout));
        using var failures = new InstrumentReading(DeadLetterPublisher.MeterName, "streammon.dead_letters.delivery_failures", "refused");
        using var producer = kafka.CreateProducer(options, "dead-letter-refused");
        using var publisher = new DeadLetterPublisher(producer, options.Topics, "refused", kafka.Codec, NullLogger.Instance, retry: FastRetry);

        await kafka.Faults.PushRequestErrorsAsync(KafkaApiKey.Produce, [ErrorCode.MsgSizeTooLarge]);
        publisher.Publish(input, ReasonCodes.DecodeBadMarker, "not Avro");
        Assert.False(publisher.Flush(Timeout));
        Assert.Equal((0, 1, 1), (publisher.Delivered, publisher.DeliveryFailures, publisher.Blocking));
        Assert.Equal(1, failures.Value);
        Assert.Equal(input.Offset, publisher.SafeCommitOffset(input.TopicPartition, input.Offset + 1));

        // The broker accepts again: the next flush after the backoff writes it and the commit may move past it.
        await Task.Delay(50);
        Assert.True(publisher.Flush(Timeout));
        Assert.Equal((1, 1, 0), (publisher.Delivered, publisher.DeliveryFailures, publisher.Blocking));
        Assert.Equal(input.Offset + 1, publisher.SafeCommitOffset(input.TopicPartition, input.Offset + 1));
        var letter = Assert.Single(await kafka.ConsumeAllAsync<DeadLetter>(options.Topics.DeadLetter, Timeout));
        Assert.Equal($"{input.Topic}/{input.Partition.Value}/{input.Offset.Value}", letter.Key);
    }

    /// <summary>
    /// The value of one observable System.Diagnostics.Metrics counter of the publishers of one service, as /metrics
    /// would read it.
    /// </summary>
    private sealed class InstrumentReading : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _value;

        public InstrumentReading(string meter, string instrument, string service)
        {
            _listener.InstrumentPublished = (i, l) =>
            {
                if (i.Meter.Name == meter && i.Name == instrument)
                {
                    l.EnableMeasurementEvents(i);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                foreach (var tag in tags)
                {
                    if (tag.Key == "service" && Equals(tag.Value, service))
                    {
                        Interlocked.Exchange(ref _value, value);
                    }
                }
            });
            _listener.Start();
        }

        public long Value
        {
            get
            {
                _listener.RecordObservableInstruments();
                return Interlocked.Read(ref _value);
            }
        }

        public void Dispose() => _listener.Dispose();
    }
}
