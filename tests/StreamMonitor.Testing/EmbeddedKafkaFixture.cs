using System.Globalization;
using System.Text;
using Confluent.Kafka;
using StreamMonitor.Contracts;
using StreamMonitor.Kafka;
using StreamMonitor.Kafka.Embedded;
using Xunit;

namespace StreamMonitor.Testing;

/// <summary>An event read back from a topic.</summary>
public sealed record ConsumedEvent<T>(string Key, T Value, int Partition, long Offset, DateTime Timestamp);

/// <summary>
/// An embedded Kafka cluster (`streammon kafka up`, librdkafka's mock brokers) in its own process for a test class or
/// collection: the cluster outlives services that tests kill. Gives the bootstrap servers, options with per-test topic
/// namespaces, fault injection (<see cref="Faults"/>) and helpers to produce and read back events.
/// </summary>
public class EmbeddedKafkaFixture : IAsyncLifetime
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    private readonly int _brokers;
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "streammon-kafka-" + Guid.NewGuid().ToString("N")[..12]);
    private ServiceProcess? _process;
    private MockClusterControlClient? _faults;
    private IProducer<byte[], byte[]>? _producer;

    /// <summary>A three-broker cluster.</summary>
    public EmbeddedKafkaFixture()
        : this(3)
    {
    }

    /// <summary>A cluster of <paramref name="brokers"/> brokers (subclass to choose).</summary>
    protected EmbeddedKafkaFixture(int brokers) => _brokers = brokers;

    /// <summary>Comma-separated bootstrap servers.</summary>
    public string BootstrapServers { get; private set; } = "";

    /// <summary>Number of brokers (ids 1..N).</summary>
    public int BrokerCount => _brokers;

    /// <summary>Fault injection and topic creation on the running cluster.</summary>
    public MockClusterControlClient Faults => _faults ?? throw new InvalidOperationException("The cluster is not started.");

    /// <summary>The codec used by the produce/consume helpers.</summary>
    public EventCodec Codec { get; } = new();

    /// <summary>The cluster process (its output helps when a test fails).</summary>
    public ServiceProcess Process => _process ?? throw new InvalidOperationException("The cluster is not started.");

    /// <summary>Starts the cluster process and waits until it serves.</summary>
    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        var bootstrapFile = Path.Combine(_directory, "bootstrap");
        var controlFile = Path.Combine(_directory, "control-url");
        _process = ServiceProcess.Start(new ServiceProcessOptions(StreammonCli.DllPath)
        {
            Arguments =
            [
                "kafka", "up",
                "--brokers", _brokers.ToString(CultureInfo.InvariantCulture),
                "--bootstrap-file", bootstrapFile,
                "--control-url-file", controlFile,
                "--parent-pid", Environment.ProcessId.ToString(CultureInfo.InvariantCulture),
            ],
        });
        await _process.WaitForLineAsync("Embedded Kafka cluster up", StartTimeout);
        BootstrapServers = (await File.ReadAllTextAsync(bootstrapFile)).Trim();
        _faults = new MockClusterControlClient(new Uri((await File.ReadAllTextAsync(controlFile)).Trim()));
    }

    /// <summary>Stops the cluster.</summary>
    public async Task DisposeAsync()
    {
        _producer?.Dispose();
        _faults?.Dispose();
        if (_process is not null)
        {
            await _process.StopAsync(TimeSpan.FromSeconds(10));
            await _process.DisposeAsync();
        }

        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    /// <summary>
    /// Kafka options for this cluster with every catalog topic created. <paramref name="topicSuffix"/> null gives a fresh
    /// namespace (so tests sharing the cluster never see each other's records); "" uses the live topic names.
    /// A short session timeout lets a restarted member rejoin quickly.
    /// </summary>
    public KafkaOptions CreateOptions(string? topicSuffix = null)
    {
        var options = new KafkaOptions
        {
            BootstrapServers = BootstrapServers,
            SessionTimeout = TimeSpan.FromSeconds(3),
            Topics = new TopicCatalog { Suffix = topicSuffix ?? "." + Guid.NewGuid().ToString("N")[..10] },
        };
        Faults.CreateTopics(options.Topics.All);
        return options;
    }

    /// <summary>Environment variables that point a service process at this cluster and topic namespace.</summary>
    public static IReadOnlyDictionary<string, string?> EnvironmentFor(KafkaOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new Dictionary<string, string?>
        {
            ["Kafka__BootstrapServers"] = options.BootstrapServers,
            ["Kafka__SessionTimeout"] = Durations.Format(options.SessionTimeout),
            ["Kafka__Topics__Suffix"] = options.Topics.Suffix,
            ["Kafka__Topics__InputPartitions"] = options.Topics.InputPartitions.ToString(CultureInfo.InvariantCulture),
            ["Kafka__Topics__ResultPartitions"] = options.Topics.ResultPartitions.ToString(CultureInfo.InvariantCulture),
        };
    }

    /// <summary>A producer built with the project's client settings (caller disposes).</summary>
    public IProducer<byte[], byte[]> CreateProducer(KafkaOptions? options = null, string clientId = "test-producer") =>
        new ProducerBuilder<byte[], byte[]>(KafkaClientConfig.Producer(options ?? CreateOptionsWithoutTopics(), clientId)).Build();

    /// <summary>A consumer built with the project's client settings (caller disposes).</summary>
    public IConsumer<byte[], byte[]> CreateConsumer(KafkaOptions options, string groupId, string clientId = "test-consumer") =>
        new ConsumerBuilder<byte[], byte[]>(KafkaClientConfig.Consumer(options, groupId, clientId)).Build();

    /// <summary>Encodes and produces one event, waiting for the acknowledgement.</summary>
    public Task<DeliveryResult<byte[], byte[]>> ProduceAsync<T>(string topic, string key, T value, CancellationToken cancellationToken = default)
        where T : class => SharedProducer().ProduceEventAsync(Codec, topic, key, value, cancellationToken);

    /// <summary>Produces raw bytes (e.g. a corrupt record), waiting for the acknowledgement.</summary>
    public Task<DeliveryResult<byte[], byte[]>> ProduceRawAsync(string topic, string key, byte[] value, CancellationToken cancellationToken = default) =>
        SharedProducer().ProduceAsync(topic, new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes(key), Value = value }, cancellationToken);

    /// <summary>Reads every record of <paramref name="topic"/> up to the end offsets it has when called.</summary>
    public Task<IReadOnlyList<ConsumeResult<byte[], byte[]>>> ConsumeRawAllAsync(string topic, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        Task.Run(() => ReadTopic(topic, timeout, idle: null, cancellationToken), cancellationToken);

    /// <summary>Reads and decodes every record of <paramref name="topic"/> up to its current end offsets.</summary>
    public async Task<IReadOnlyList<ConsumedEvent<T>>> ConsumeAllAsync<T>(string topic, TimeSpan timeout, CancellationToken cancellationToken = default)
        where T : class => Decode<T>(await ConsumeRawAllAsync(topic, timeout, cancellationToken));

    /// <summary>
    /// Reads and decodes records of <paramref name="topic"/> from the beginning until none has arrived for
    /// <paramref name="idle"/> (for topics still being written by a process under test), at most <paramref name="timeout"/>.
    /// </summary>
    public async Task<IReadOnlyList<ConsumedEvent<T>>> ConsumeUntilIdleAsync<T>(string topic, TimeSpan idle, TimeSpan timeout, CancellationToken cancellationToken = default)
        where T : class =>
        Decode<T>(await Task.Run(() => ReadTopic(topic, timeout, idle, cancellationToken), cancellationToken));

    private List<ConsumedEvent<T>> Decode<T>(IReadOnlyList<ConsumeResult<byte[], byte[]>> records)
        where T : class =>
        records.Select(r => new ConsumedEvent<T>(r.Message.KeyString(), Codec.Deserialize<T>(r.Message.Value), r.Partition.Value, r.Offset.Value, r.Message.Timestamp.UtcDateTime)).ToList();

    private KafkaOptions CreateOptionsWithoutTopics() => new() { BootstrapServers = BootstrapServers, SessionTimeout = TimeSpan.FromSeconds(3) };

    private IProducer<byte[], byte[]> SharedProducer()
    {
        if (_producer is null)
        {
            var created = CreateProducer(clientId: "fixture-producer");
            if (Interlocked.CompareExchange(ref _producer, created, null) is not null)
            {
                created.Dispose();
            }
        }

        return _producer;
    }

    private IReadOnlyList<ConsumeResult<byte[], byte[]>> ReadTopic(string topic, TimeSpan timeout, TimeSpan? idle, CancellationToken cancellationToken)
    {
        var options = CreateOptionsWithoutTopics();
        using var consumer = CreateConsumer(options, "fixture-reader-" + Guid.NewGuid().ToString("N"), "fixture-reader");
        using var admin = new DependentAdminClientBuilder(consumer.Handle).Build();
        var deadline = DateTime.UtcNow + timeout;
        var metadata = admin.GetMetadata(topic, timeout).Topics.Single();
        if (metadata.Error.IsError)
        {
            throw new KafkaException(metadata.Error);
        }

        var partitions = metadata.Partitions.Select(p => new TopicPartition(topic, p.PartitionId)).ToList();
        var ends = idle is null
            ? partitions.ToDictionary(tp => tp.Partition.Value, tp => consumer.QueryWatermarkOffsets(tp, timeout).High.Value)
            : null;
        consumer.Assign(partitions.Select(tp => new TopicPartitionOffset(tp, Offset.Beginning)));
        var records = new List<ConsumeResult<byte[], byte[]>>();
        var next = partitions.ToDictionary(tp => tp.Partition.Value, _ => 0L);
        var lastRecord = DateTime.UtcNow;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (ends is not null && ends.All(e => next[e.Key] >= e.Value))
            {
                return records;
            }

            if (idle is not null && DateTime.UtcNow - lastRecord >= idle)
            {
                return records;
            }

            if (DateTime.UtcNow > deadline)
            {
                if (idle is not null)
                {
                    return records;
                }

                throw new TimeoutException($"Read {records.Count} records of {topic} in {timeout}; end offsets {string.Join(",", ends!.Select(e => $"{e.Key}:{e.Value}"))}, reached {string.Join(",", next.Select(e => $"{e.Key}:{e.Value}"))}.");
            }

            var result = consumer.Consume(TimeSpan.FromMilliseconds(100));
            if (result is null || result.IsPartitionEOF)
            {
                continue;
            }

            records.Add(result);
            next[result.Partition.Value] = result.Offset.Value + 1;
            lastRecord = DateTime.UtcNow;
        }
    }
}
