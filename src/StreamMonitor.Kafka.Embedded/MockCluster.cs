using System.Runtime.InteropServices;
using System.Text;
using Confluent.Kafka;

namespace StreamMonitor.Kafka.Embedded;

/// <summary>
/// librdkafka's in-memory mock cluster: N brokers on real loopback TCP ports that any Kafka client can use. Bound by
/// function pointers into the very native file Confluent.Kafka loaded (<see cref="KafkaNative.LoadedPath"/>): a
/// [DllImport("librdkafka")] would resolve another file (on Debian 12 one that does not load). Thread-safe: every
/// mock call is queued to the cluster's own thread by librdkafka.
/// </summary>
/// <remarks>
/// What the mock supports is limited (see docs): topics must be created with <see cref="CreateTopic"/> (Admin
/// CreateTopics waits for a controller forever), there is no compaction, retention, timestamp lookup or real
/// transaction isolation.
/// </remarks>
public sealed unsafe class MockCluster : IDisposable
{
    private const int ProducerType = 0;
    private const int ErrStrSize = 512;
    private const int TopicAlreadyExists = 36;

    private readonly Native _native;
    private nint _handle;
    private readonly nint _cluster;

    private MockCluster(Native native, nint handle, nint cluster, int brokerCount)
    {
        _native = native;
        _handle = handle;
        _cluster = cluster;
        BrokerCount = brokerCount;
        BootstrapServers = Marshal.PtrToStringUTF8(native.Bootstraps(cluster))
            ?? throw new InvalidOperationException("librdkafka returned no bootstrap servers for the mock cluster.");
    }

    /// <summary>Comma-separated host:port list of the mock brokers.</summary>
    public string BootstrapServers { get; }

    /// <summary>Number of brokers; their ids are 1..<see cref="BrokerCount"/>.</summary>
    public int BrokerCount { get; }

    /// <summary>Starts a mock cluster with <paramref name="brokerCount"/> brokers.</summary>
    public static MockCluster Start(int brokerCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(brokerCount, 1);
        var native = Native.Bind();
        var conf = native.ConfNew();
        var errstr = stackalloc byte[ErrStrSize];
        SetConf(native, conf, "test.mock.num.brokers", brokerCount.ToString(System.Globalization.CultureInfo.InvariantCulture), errstr);
        // The hosting handle never produces; keep its own chatter (connection refused while a broker is down) quiet.
        SetConf(native, conf, "log_level", "3", errstr);
        SetConf(native, conf, "client.id", "streammon-mock-cluster", errstr);
        var handle = native.New(ProducerType, conf, errstr, ErrStrSize);
        if (handle == 0)
        {
            native.ConfDestroy(conf);
            throw new InvalidOperationException("rd_kafka_new failed for the mock cluster: " + Marshal.PtrToStringUTF8((nint)errstr));
        }

        var cluster = native.HandleMockCluster(handle);
        if (cluster == 0)
        {
            native.Destroy(handle);
            throw new InvalidOperationException("librdkafka created no mock cluster (test.mock.num.brokers unsupported by this build).");
        }

        return new MockCluster(native, handle, cluster, brokerCount);
    }

    /// <summary>Creates a topic; an existing topic is left as it is (returns false).</summary>
    public bool CreateTopic(string name, int partitions, int replicationFactor)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentOutOfRangeException.ThrowIfLessThan(partitions, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(replicationFactor, 1);
        var cluster = Cluster();
        int err;
        fixed (byte* topic = Utf8(name))
        {
            err = _native.TopicCreate(cluster, topic, partitions, Math.Min(replicationFactor, BrokerCount));
        }

        if (err == TopicAlreadyExists)
        {
            return false;
        }

        Check(err, $"create topic {name}");
        return true;
    }

    /// <summary>Disconnects a broker (-1: all) and refuses new connections; leadership does not move.</summary>
    public void SetBrokerDown(int brokerId) => Check(_native.BrokerSetDown(Cluster(), brokerId), $"set broker {brokerId} down");

    /// <summary>Makes a broker (-1: all) accept connections again.</summary>
    public void SetBrokerUp(int brokerId) => Check(_native.BrokerSetUp(Cluster(), brokerId), $"set broker {brokerId} up");

    /// <summary>Delays every response of a broker (-1: all) by <paramref name="rttMs"/> milliseconds (0 removes it).</summary>
    public void SetBrokerRtt(int brokerId, int rttMs)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rttMs);
        Check(_native.BrokerSetRtt(Cluster(), brokerId, rttMs), $"set broker {brokerId} rtt");
    }

    /// <summary>The next <paramref name="errors"/>.Length requests of <paramref name="apiKey"/> fail with these codes, in order.</summary>
    public void PushRequestErrors(KafkaApiKey apiKey, IReadOnlyList<ErrorCode> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (errors.Count == 0)
        {
            return;
        }

        var codes = new int[errors.Count];
        for (var i = 0; i < codes.Length; i++)
        {
            codes[i] = (int)errors[i];
        }

        fixed (int* p = codes)
        {
            _native.PushRequestErrorsArray(Cluster(), (short)apiKey, (nuint)codes.Length, p);
        }
    }

    /// <summary>Forgets the pending injected errors of <paramref name="apiKey"/>.</summary>
    public void ClearRequestErrors(KafkaApiKey apiKey) => _native.ClearRequestErrors(Cluster(), (short)apiKey);

    /// <summary>Moves the leadership of a partition to a broker (-1: no leader).</summary>
    public void SetPartitionLeader(string topic, int partition, int brokerId)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        int err;
        fixed (byte* t = Utf8(topic))
        {
            err = _native.PartitionSetLeader(Cluster(), t, partition, brokerId);
        }

        Check(err, $"set leader of {topic}[{partition}]");
    }

    /// <summary>Makes a broker the coordinator of a group ("group") or transactional id ("transaction").</summary>
    public void SetCoordinator(string keyType, string key, int brokerId)
    {
        ArgumentException.ThrowIfNullOrEmpty(keyType);
        ArgumentException.ThrowIfNullOrEmpty(key);
        int err;
        fixed (byte* kt = Utf8(keyType))
        fixed (byte* k = Utf8(key))
        {
            err = _native.CoordinatorSet(Cluster(), kt, k, brokerId);
        }

        Check(err, $"set coordinator of {keyType} {key}");
    }

    /// <summary>Destroys the cluster: its brokers close their sockets.</summary>
    public void Dispose()
    {
        var handle = Interlocked.Exchange(ref _handle, 0);
        if (handle != 0)
        {
            _native.Destroy(handle);
        }
    }

    private nint Cluster()
    {
        ObjectDisposedException.ThrowIf(_handle == 0, this);
        return _cluster;
    }

    private void Check(int err, string what)
    {
        if (err != 0)
        {
            throw new KafkaException(new Error((ErrorCode)err, $"Mock cluster could not {what}: {Marshal.PtrToStringUTF8(_native.Err2Str(err))}"));
        }
    }

    private static void SetConf(Native native, nint conf, string name, string value, byte* errstr)
    {
        int result;
        fixed (byte* n = Utf8(name))
        fixed (byte* v = Utf8(value))
        {
            result = native.ConfSet(conf, n, v, errstr, ErrStrSize);
        }

        if (result != 0)
        {
            native.ConfDestroy(conf);
            throw new InvalidOperationException($"librdkafka rejected {name}={value}: {Marshal.PtrToStringUTF8((nint)errstr)}");
        }
    }

    private static byte[] Utf8(string value)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(value) + 1];
        Encoding.UTF8.GetBytes(value, bytes);
        return bytes;
    }

    /// <summary>The librdkafka entry points, resolved once per cluster from the loaded native file.</summary>
    private sealed class Native
    {
        public delegate* unmanaged<nint> ConfNew;
        public delegate* unmanaged<nint, byte*, byte*, byte*, nuint, int> ConfSet;
        public delegate* unmanaged<nint, void> ConfDestroy;
        public delegate* unmanaged<int, nint, byte*, nuint, nint> New;
        public delegate* unmanaged<nint, void> Destroy;
        public delegate* unmanaged<int, nint> Err2Str;
        public delegate* unmanaged<nint, nint> HandleMockCluster;
        public delegate* unmanaged<nint, nint> Bootstraps;
        public delegate* unmanaged<nint, byte*, int, int, int> TopicCreate;
        public delegate* unmanaged<nint, int, int> BrokerSetDown;
        public delegate* unmanaged<nint, int, int> BrokerSetUp;
        public delegate* unmanaged<nint, int, int, int> BrokerSetRtt;
        public delegate* unmanaged<nint, short, nuint, int*, void> PushRequestErrorsArray;
        public delegate* unmanaged<nint, short, void> ClearRequestErrors;
        public delegate* unmanaged<nint, byte*, int, int, int> PartitionSetLeader;
        public delegate* unmanaged<nint, byte*, byte*, int, int> CoordinatorSet;

        public static Native Bind()
        {
            KafkaNative.EnsureLoaded();
            var path = KafkaNative.LoadedPath
                ?? throw new InvalidOperationException("No librdkafka native library was found next to Confluent.Kafka; set STREAMMON_LIBRDKAFKA to its path.");
            // Same path as Confluent.Kafka's: dlopen returns the already-loaded image, so both share one librdkafka.
            var lib = NativeLibrary.Load(path);
            nint Get(string name) => NativeLibrary.GetExport(lib, name);
            return new Native
            {
                ConfNew = (delegate* unmanaged<nint>)Get("rd_kafka_conf_new"),
                ConfSet = (delegate* unmanaged<nint, byte*, byte*, byte*, nuint, int>)Get("rd_kafka_conf_set"),
                ConfDestroy = (delegate* unmanaged<nint, void>)Get("rd_kafka_conf_destroy"),
                New = (delegate* unmanaged<int, nint, byte*, nuint, nint>)Get("rd_kafka_new"),
                Destroy = (delegate* unmanaged<nint, void>)Get("rd_kafka_destroy"),
                Err2Str = (delegate* unmanaged<int, nint>)Get("rd_kafka_err2str"),
                HandleMockCluster = (delegate* unmanaged<nint, nint>)Get("rd_kafka_handle_mock_cluster"),
                Bootstraps = (delegate* unmanaged<nint, nint>)Get("rd_kafka_mock_cluster_bootstraps"),
                TopicCreate = (delegate* unmanaged<nint, byte*, int, int, int>)Get("rd_kafka_mock_topic_create"),
                BrokerSetDown = (delegate* unmanaged<nint, int, int>)Get("rd_kafka_mock_broker_set_down"),
                BrokerSetUp = (delegate* unmanaged<nint, int, int>)Get("rd_kafka_mock_broker_set_up"),
                BrokerSetRtt = (delegate* unmanaged<nint, int, int, int>)Get("rd_kafka_mock_broker_set_rtt"),
                PushRequestErrorsArray = (delegate* unmanaged<nint, short, nuint, int*, void>)Get("rd_kafka_mock_push_request_errors_array"),
                ClearRequestErrors = (delegate* unmanaged<nint, short, void>)Get("rd_kafka_mock_clear_request_errors"),
                PartitionSetLeader = (delegate* unmanaged<nint, byte*, int, int, int>)Get("rd_kafka_mock_partition_set_leader"),
                CoordinatorSet = (delegate* unmanaged<nint, byte*, byte*, int, int>)Get("rd_kafka_mock_coordinator_set"),
            };
        }
    }
}

/// <summary>Kafka protocol request types (API keys) that tests inject errors into.</summary>
public enum KafkaApiKey : short
{
    /// <summary>ProduceRequest.</summary>
    Produce = 0,
    /// <summary>FetchRequest.</summary>
    Fetch = 1,
    /// <summary>ListOffsetsRequest.</summary>
    ListOffsets = 2,
    /// <summary>MetadataRequest.</summary>
    Metadata = 3,
    /// <summary>OffsetCommitRequest.</summary>
    OffsetCommit = 8,
    /// <summary>OffsetFetchRequest.</summary>
    OffsetFetch = 9,
    /// <summary>FindCoordinatorRequest.</summary>
    FindCoordinator = 10,
    /// <summary>JoinGroupRequest.</summary>
    JoinGroup = 11,
    /// <summary>HeartbeatRequest.</summary>
    Heartbeat = 12,
    /// <summary>LeaveGroupRequest.</summary>
    LeaveGroup = 13,
    /// <summary>SyncGroupRequest.</summary>
    SyncGroup = 14,
    /// <summary>ApiVersionsRequest.</summary>
    ApiVersions = 18,
    /// <summary>InitProducerIdRequest.</summary>
    InitProducerId = 22,
    /// <summary>ConsumerGroupHeartbeatRequest (KIP-848).</summary>
    ConsumerGroupHeartbeat = 68,
}
