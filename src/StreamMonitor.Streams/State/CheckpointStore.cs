using System.Buffers.Binary;
using System.Text;
using Confluent.Kafka;
using StreamMonitor.Kafka;

namespace StreamMonitor.Streams;

/// <summary>A task checkpoint: its state and the offset of the next input record it has not yet reflected.</summary>
public sealed record Checkpoint(long NextOffset, byte[] State);

/// <summary>
/// The latest checkpoint of every task on a compacted checkpoint topic (the aggregator's, the alerter's), one record per
/// key: a task's state and the input offsets it reflects travel in one record, so they are written atomically. A
/// <see cref="TaskRunner"/>'s records are <see cref="Encode"/>d (version byte, next input offset as int64
/// little-endian, task state); an owner with its own record format reads and writes raw values
/// (<see cref="LoadValue"/>). Reading catches up from where it last stopped to the high watermark of every partition of
/// the topic and keeps the latest value per key (so a partition moved from another instance resumes from that
/// instance's last checkpoint).
/// </summary>
public sealed class CheckpointStore : IDisposable
{
    private const byte Version = 1;
    private readonly string _topic;
    private readonly IConsumer<byte[], byte[]> _reader;
    private readonly Dictionary<string, byte[]> _latest = new(StringComparer.Ordinal);
    private readonly Dictionary<int, long> _positions = [];
    private readonly int _partitions;

    /// <summary>
    /// Creates a reader over checkpoint topic <paramref name="topic"/> (no consumer group: plain assignment), which has
    /// <see cref="TopicCatalog.ResultPartitions"/> partitions as every checkpoint topic of the catalog.
    /// </summary>
    public CheckpointStore(KafkaOptions options, string topic, string clientId)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(topic);
        _topic = topic;
        _partitions = options.Topics.ResultPartitions;
        var config = KafkaClientConfig.Consumer(options, groupId: clientId + "-checkpoint-reader", clientId);
        _reader = new ConsumerBuilder<byte[], byte[]>(config).Build();
        for (var p = 0; p < _partitions; p++)
        {
            _positions[p] = 0;
        }
    }

    /// <summary>The checkpoint key of a task.</summary>
    public static string KeyOf(string group, TopicPartition partition)
    {
        ArgumentNullException.ThrowIfNull(partition);
        return $"{group}|{partition.Topic}|{partition.Partition.Value}";
    }

    /// <summary>Checkpoint topic partition of a key (murmur2, as a keyed produce would choose).</summary>
    public int PartitionOf(string key) => Murmur2.Partition(Encoding.UTF8.GetBytes(key), _partitions);

    /// <summary>Name of the checkpoint topic.</summary>
    public string Topic => _topic;

    /// <summary>Reads every checkpoint written so far (by any instance) and returns the latest for the key.</summary>
    public Checkpoint? Load(string key, TimeSpan timeout) => LoadValue(key, timeout) is { } value ? Decode(value) : null;

    /// <summary>Reads every checkpoint written so far (by any instance) and returns the latest record value of the key.</summary>
    public byte[]? LoadValue(string key, TimeSpan timeout)
    {
        CatchUp(timeout);
        return _latest.GetValueOrDefault(key);
    }

    /// <summary>Remembers a checkpoint record value this process has just made durable.</summary>
    public void Remember(string key, byte[] value) => _latest[key] = value;

    /// <summary>Encodes a checkpoint value.</summary>
    public static byte[] Encode(Checkpoint checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        var value = new byte[9 + checkpoint.State.Length];
        value[0] = Version;
        BinaryPrimitives.WriteInt64LittleEndian(value.AsSpan(1), checkpoint.NextOffset);
        checkpoint.State.CopyTo(value.AsSpan(9));
        return value;
    }

    /// <summary>Decodes a checkpoint value.</summary>
    public static Checkpoint Decode(byte[] value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.Length < 9 || value[0] != Version)
        {
            throw new InvalidDataException("Not a version-1 checkpoint record.");
        }

        return new Checkpoint(BinaryPrimitives.ReadInt64LittleEndian(value.AsSpan(1)), value[9..]);
    }

    private void CatchUp(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        foreach (var partition in _positions.Keys.ToList())
        {
            var tp = new TopicPartition(_topic, partition);
            var high = _reader.QueryWatermarkOffsets(tp, timeout).High.Value;
            if (high <= _positions[partition])
            {
                continue;
            }

            _positions[partition] = PartitionRangeReader.Read(_reader, tp, _positions[partition], high, deadline, record =>
            {
                if (record.Message.Key is { } key && record.Message.Value is { } value)
                {
                    // Decoded on load: a topic's records need not be in this class's format (the alerter's are not).
                    _latest[Encoding.UTF8.GetString(key)] = value;
                }
            });
        }
    }

    /// <inheritdoc />
    public void Dispose() => _reader.Dispose();
}
