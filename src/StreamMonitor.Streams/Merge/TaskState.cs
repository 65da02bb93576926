using Confluent.Kafka;
using StreamMonitor.Contracts;

namespace StreamMonitor.Streams;

/// <summary>What the stage tasks share: the binary framing of their checkpointed state, and the dead-letter envelope (its service is the aggregator, the one host of these stages).</summary>
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
    /// The aggregator's one dead-letter (and late-event) envelope for <paramref name="record"/>: built by
    /// <see cref="Contracts.DeadLetter.For"/> (payload capped, size and SHA-256 kept) under the one key format
    /// <see cref="Contracts.DeadLetter.KeyOf"/> ("topic/partition/offset": a record dead-lettered again after a crash
    /// lands on the same key). Tasks pass their stream time as <paramref name="observedAtMs"/> (never the wall clock, so a
    /// replay writes the same envelope); long.MinValue (no stream time yet) is written as 0.
    /// </summary>
    public static (byte[] Key, byte[] Value) DeadLetter(EventCodec codec, ConsumeResult<byte[], byte[]> record, string code, string reason, long? eventTimeMs, long observedAtMs)
    {
        ArgumentNullException.ThrowIfNull(record);
        return DeadLetter(codec, record.Topic, record.Partition.Value, record.Offset.Value, record.Message.Key, record.Message.Value, code, reason, eventTimeMs, observedAtMs);
    }

    /// <summary>As <see cref="DeadLetter(EventCodec, ConsumeResult{byte[], byte[]}, string, string, long?, long)"/>, for a record known by its coordinates and bytes.</summary>
    public static (byte[] Key, byte[] Value) DeadLetter(EventCodec codec, string sourceTopic, int sourcePartition, long sourceOffset, byte[]? key, byte[]? payload, string code, string reason, long? eventTimeMs, long observedAtMs)
    {
        ArgumentNullException.ThrowIfNull(codec);
        var letter = Contracts.DeadLetter.For(sourceTopic, sourcePartition, sourceOffset, key, payload, code, reason, eventTimeMs, Contracts.DeadLetter.DefaultMaxPayloadBytes);
        letter.Service = "aggregator";
        letter.ObservedAtMs = observedAtMs == long.MinValue ? 0 : observedAtMs;
        return (Contracts.DeadLetter.KeyOf(sourceTopic, sourcePartition, sourceOffset), codec.Serialize(letter));
    }
}
