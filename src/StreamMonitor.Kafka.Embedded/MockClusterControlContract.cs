namespace StreamMonitor.Kafka.Embedded;

/// <summary>What the control API reports about a running mock cluster (GET /cluster).</summary>
public sealed record MockClusterInfo(string BootstrapServers, int BrokerCount);

/// <summary>A topic to create on the mock cluster (POST /topics takes an array of these).</summary>
public sealed record MockTopicRequest(string Name, int Partitions, int ReplicationFactor = 3);

/// <summary>Topics that were created; those that already existed are not listed.</summary>
public sealed record MockTopicsCreated(IReadOnlyList<string> Created);

/// <summary>Added round-trip time of a broker (POST /brokers/{id}/rtt).</summary>
public sealed record MockRttRequest(int RttMs);

/// <summary>Errors the next requests of an API key fail with, in order (POST /request-errors).</summary>
public sealed record MockRequestErrorsRequest(short ApiKey, IReadOnlyList<int> Errors);

/// <summary>New leader of a partition (POST /partition-leader).</summary>
public sealed record MockPartitionLeaderRequest(string Topic, int Partition, int BrokerId);

/// <summary>New coordinator of a group or transactional id (POST /coordinator); KeyType is "group" or "transaction".</summary>
public sealed record MockCoordinatorRequest(string KeyType, string Key, int BrokerId);

/// <summary>Body of every failed control request.</summary>
public sealed record MockControlError(string Error);
