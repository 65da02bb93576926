using Confluent.Kafka;

namespace StreamMonitor.Kafka;

/// <summary>
/// Builds producer and consumer configurations with StreamMonitor's invariants: one partitioner everywhere
/// (murmur2_random, Java's, so keys land on the same partitions as with Java clients: co-partitioning), idempotent
/// producers with acks=all, manual offset commits, and the pass-through settings of <see cref="KafkaOptions"/>.
/// </summary>
public static class KafkaClientConfig
{
    /// <summary>A producer configuration; callers may adjust linger and batching for throughput.</summary>
    public static ProducerConfig Producer(KafkaOptions options, string clientId)
    {
        ArgumentNullException.ThrowIfNull(options);
        KafkaNative.EnsureLoaded();
        var config = new ProducerConfig(new Dictionary<string, string>(options.Client))
        {
            BootstrapServers = options.BootstrapServers,
            ClientId = clientId,
            Partitioner = Partitioner.Murmur2Random,
            EnableIdempotence = true,
            Acks = Acks.All,
            LingerMs = 5,
        };
        return config;
    }

    /// <summary>A consumer configuration with auto-commit off: services commit only what they have made durable.</summary>
    public static ConsumerConfig Consumer(KafkaOptions options, string groupId, string clientId)
    {
        ArgumentNullException.ThrowIfNull(options);
        KafkaNative.EnsureLoaded();
        var config = new ConsumerConfig(new Dictionary<string, string>(options.Client))
        {
            BootstrapServers = options.BootstrapServers,
            GroupId = groupId,
            ClientId = clientId,
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            SessionTimeoutMs = (int)options.SessionTimeout.TotalMilliseconds,
            HeartbeatIntervalMs = Math.Max(100, (int)options.SessionTimeout.TotalMilliseconds / 5),
            PartitionAssignmentStrategy = PartitionAssignmentStrategy.CooperativeSticky,
            IsolationLevel = IsolationLevel.ReadUncommitted,
        };
        return config;
    }

    /// <summary>An admin client configuration (topic creation, metadata) with the pass-through settings.</summary>
    public static AdminClientConfig Admin(KafkaOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        KafkaNative.EnsureLoaded();
        return new AdminClientConfig(new Dictionary<string, string>(options.Client)) { BootstrapServers = options.BootstrapServers };
    }
}
