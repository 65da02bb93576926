using Confluent.Kafka;

namespace StreamMonitor.Streams;

/// <summary>What a <see cref="PartitionedProcessor"/> reports as it runs (a service maps it to its metrics).</summary>
public interface IProcessorMetrics
{
    /// <summary>One input record of <paramref name="partition"/> was processed; its task's stream time is now <paramref name="streamTimeMs"/>.</summary>
    void Processed(TopicPartition partition, long streamTimeMs);

    /// <summary><paramref name="count"/> task checkpoints were written.</summary>
    void Checkpointed(int count);
}
