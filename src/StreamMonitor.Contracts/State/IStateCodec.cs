namespace StreamMonitor.Contracts.State;

/// <summary>
/// The binary format of one state type (an aggregate, a join buffer, an evaluator's state) in checkpoints and
/// changelogs. Every record starts with a one-byte format version written by <see cref="StateCodec"/>; a codec reads
/// every version it ever wrote, so a new release restores the checkpoints of the previous one.
/// </summary>
/// <typeparam name="T">The state type.</typeparam>
public interface IStateCodec<T>
{
    /// <summary>The version this codec writes (1 or more); versions <see cref="OldestVersion"/>..<see cref="Version"/> are readable.</summary>
    byte Version { get; }

    /// <summary>
    /// The oldest readable version: 1, or 0 for a format that had no version byte and whose old records provably begin
    /// with a byte below the first version it writes (the codec then reads them as those versions).
    /// </summary>
    byte OldestVersion => 1;

    /// <summary>Writes <paramref name="value"/> in the current format, after the version byte.</summary>
    void Write(BinaryWriter writer, T value);

    /// <summary>Reads a value written in format <paramref name="version"/> (the version byte already consumed).</summary>
    T Read(BinaryReader reader, byte version);
}

/// <summary>The versioned header shared by every <see cref="IStateCodec{T}"/>.</summary>
public static class StateCodec
{
    /// <summary>Writes the version byte and then the value.</summary>
    public static void WriteVersioned<T>(this IStateCodec<T> codec, BinaryWriter writer, T value)
    {
        ArgumentNullException.ThrowIfNull(codec);
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(codec.Version);
        codec.Write(writer, value);
    }

    /// <summary>Reads the version byte and the value; a version this codec never wrote is an error, not a guess.</summary>
    /// <exception cref="InvalidDataException">The version is older than <see cref="IStateCodec{T}.OldestVersion"/> or newer than the codec's.</exception>
    public static T ReadVersioned<T>(this IStateCodec<T> codec, BinaryReader reader)
    {
        ArgumentNullException.ThrowIfNull(codec);
        ArgumentNullException.ThrowIfNull(reader);
        var version = reader.ReadByte();
        if (version < codec.OldestVersion || version > codec.Version)
        {
            throw new InvalidDataException($"{typeof(T).Name} state version {version} is not readable by this release ({codec.OldestVersion}..{codec.Version}).");
        }

        return codec.Read(reader, version);
    }

    /// <summary>Encodes one value as a standalone record (version byte first).</summary>
    public static byte[] Encode<T>(this IStateCodec<T> codec, T value)
    {
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer))
        {
            codec.WriteVersioned(writer, value);
        }

        return buffer.ToArray();
    }

    /// <summary>Decodes a record written by <see cref="Encode{T}"/>; trailing bytes are an error.</summary>
    /// <exception cref="InvalidDataException">The record is truncated, has trailing bytes or an unknown version.</exception>
    public static T Decode<T>(this IStateCodec<T> codec, byte[] record)
    {
        ArgumentNullException.ThrowIfNull(record);
        using var reader = new BinaryReader(new MemoryStream(record, writable: false));
        T value;
        try
        {
            value = codec.ReadVersioned(reader);
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"{typeof(T).Name} state record is truncated.", e);
        }

        if (reader.BaseStream.Position != reader.BaseStream.Length)
        {
            throw new InvalidDataException($"{typeof(T).Name} state record has {reader.BaseStream.Length - reader.BaseStream.Position} trailing bytes.");
        }

        return value;
    }
}
