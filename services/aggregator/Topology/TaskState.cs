using System.Text;
using Confluent.Kafka;
using StreamMonitor.Contracts;

namespace StreamMonitor.Aggregator.Topology;

/// <summary>What the stage tasks share: the binary framing of their checkpointed state, and dead-letter envelopes.</summary>
public static class TaskState
{
    /// <summary>The bytes <paramref name="write"/> writes (a task's checkpoint state).</summary>
    public static byte[] Encode(Action<BinaryWriter> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer))
        {
            write(writer);
        }

        return buffer.ToArray();
    }

    /// <summary>Reads checkpoint state written by <see cref="Encode"/>.</summary>
    public static void Decode(byte[] state, Action<BinaryReader> read)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(read);
        using var reader = new BinaryReader(new MemoryStream(state, writable: false));
        read(reader);
    }

    /// <summary>
    /// The dead-letter envelope of <paramref name="record"/>: key "topic:partition:offset" (duplicates after a crash
    /// stay visible), observed at the task's stream time (never the wall clock, so a replay writes the same envelope).
    /// </summary>
    public static (byte[] Key, byte[] Value) DeadLetter(EventCodec codec, ConsumeResult<byte[], byte[]> record, string code, string reason, long? eventTimeMs, long streamTimeMs)
    {
        ArgumentNullException.ThrowIfNull(codec);
        ArgumentNullException.ThrowIfNull(record);
        var letter = new StreamMonitor.Contracts.DeadLetter
        {
            Service = "aggregator",
            SourceTopic = record.Topic,
            SourcePartition = record.Partition.Value,
            SourceOffset = record.Offset.Value,
            Key = record.Message.Key,
            Payload = record.Message.Value,
            ReasonCode = code,
            Reason = reason,
            EventTimeMs = eventTimeMs,
            ObservedAtMs = streamTimeMs == long.MinValue ? 0 : streamTimeMs,
        };
        return (Encoding.UTF8.GetBytes($"{record.Topic}:{record.Partition.Value}:{record.Offset.Value}"), codec.Serialize(letter));
    }
}
