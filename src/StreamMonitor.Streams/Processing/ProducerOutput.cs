using System.Text;
using Confluent.Kafka;

namespace StreamMonitor.Streams;

/// <summary>Produces outputs, remembering the first failed delivery so the next flush fails the process.</summary>
internal sealed class ProducerOutput(IProducer<byte[], byte[]> producer) : ITaskOutput
{
    // Written by librdkafka's delivery thread, read by the processing thread.
    private volatile Error? _failure;

    /// <summary>Produces a record; a null <paramref name="value"/> is a tombstone (changelog clean-up).</summary>
    public void Send(string topic, int? partition, byte[] key, byte[]? value)
    {
        var message = new Message<byte[], byte[]> { Key = key, Value = value! };
        while (true)
        {
            try
            {
                if (partition is { } p)
                {
                    producer.Produce(new TopicPartition(topic, p), message, OnDelivery);
                }
                else
                {
                    producer.Produce(topic, message, OnDelivery);
                }

                return;
            }
            catch (ProduceException<byte[], byte[]> ex) when (ex.Error.Code == ErrorCode.Local_QueueFull)
            {
                // Backpressure: wait for deliveries instead of growing memory.
                producer.Flush(TimeSpan.FromMilliseconds(50));
            }
        }
    }

    public void FlushOrThrow()
    {
        while (producer.Flush(TimeSpan.FromSeconds(10)) > 0)
        {
            ThrowIfFailed();
        }

        ThrowIfFailed();
    }

    /// <summary>
    /// Writes checkpoints after every output produced before them is acknowledged (a checkpoint must never claim records
    /// whose outputs could still be lost), waits for the checkpoints themselves, then remembers them in the store.
    /// </summary>
    public void WriteCheckpoints(CheckpointStore store, IReadOnlyList<(string Key, byte[] Value)> checkpoints)
    {
        FlushOrThrow();
        foreach (var (key, value) in checkpoints)
        {
            Send(store.Topic, store.PartitionOf(key), Encoding.UTF8.GetBytes(key), value);
        }

        FlushOrThrow();
        foreach (var (key, value) in checkpoints)
        {
            store.Remember(key, value);
        }
    }

    private void OnDelivery(DeliveryReport<byte[], byte[]> report)
    {
        if (report.Error.IsError)
        {
            Interlocked.CompareExchange(ref _failure, report.Error, null);
        }
    }

    private void ThrowIfFailed()
    {
        if (_failure is { } failure)
        {
            throw new KafkaException(failure);
        }
    }
}
