using System.Buffers.Binary;
using Confluent.Kafka;
using StreamMonitor.Contracts;

namespace StreamMonitor.Streams;

/// <summary>What the stage tasks share: the versioned framing of their checkpointed state, and the dead-letter envelope (its service is the aggregator, the one host of these stages).</summary>
public static class TaskState
{
    /// <summary>
    /// The bytes <paramref name="write"/> writes (a task's checkpoint state), after the state header: eight bytes of
    /// <see cref="long.MinValue"/> (little-endian), then <paramref name="version"/> (1 or more). States written before
    /// the header provably never begin so: the window stage's with its stream time and closed-through time (both
    /// <see cref="long.MinValue"/> before any record, so the ninth byte is 0), the merge's with a count and the composite's
    /// with a count and a length (never negative, so the eighth byte is below 0x80).
    /// </summary>
    public static byte[] Encode(byte version, Action<BinaryWriter> write)
    {
        ArgumentOutOfRangeException.ThrowIfZero(version);
        ArgumentNullException.ThrowIfNull(write);
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer))
        {
            writer.Write(long.MinValue);
            writer.Write(version);
            write(writer);
        }

        return buffer.ToArray();
    }

    /// <summary>
    /// Reads checkpoint state written by <see cref="Encode"/>: <paramref name="read"/> gets the reader after the header
    /// and the state's version, 0 for a state written before the header (read from its first byte).
    /// </summary>
    /// <exception cref="InvalidDataException">The state has a version newer than <paramref name="version"/>.</exception>
    public static void Decode(byte[] state, byte version, Action<BinaryReader, byte> read)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(read);
        var stored = state.Length > 8 && BinaryPrimitives.ReadInt64LittleEndian(state) == long.MinValue && state[8] != 0 ? state[8] : (byte)0;
        if (stored > version)
        {
            throw new InvalidDataException($"Task state version {stored} is not readable by this release (0..{version}).");
        }

        using var reader = new BinaryReader(new MemoryStream(state, writable: false));
        reader.BaseStream.Position = stored == 0 ? 0 : 9;
        read(reader, stored);
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
