using System.Buffers.Binary;
using System.Collections.Concurrent;
using Avro;
using Avro.IO;
using Avro.Reflect;

namespace StreamMonitor.Contracts;

/// <summary>
/// Avro single-object encoding (specification: C3 01 marker, 8-byte little-endian CRC-64-AVRO fingerprint of the
/// writer schema, binary body). A reader resolves the writer schema by fingerprint and applies Avro schema
/// resolution, so a consumer on a newer (or older) schema reads every version it knows. Thread-safe; readers and
/// writers are built once per (type, writer schema), never per message.
/// </summary>
public sealed class EventCodec
{
    /// <summary>Bytes before the body: marker (2) + fingerprint (8).</summary>
    public const int HeaderLength = 10;

    private const byte Marker0 = 0xC3;
    private const byte Marker1 = 0x01;

    private readonly EventSchemaCatalog _catalog;
    private readonly ConcurrentDictionary<Type, object> _writers = new();
    private readonly ConcurrentDictionary<(Type Type, long Fingerprint), object> _readers = new();

    /// <summary>Creates a codec over a catalog (the built-in one when null).</summary>
    public EventCodec(EventSchemaCatalog? catalog = null) => _catalog = catalog ?? new EventSchemaCatalog();

    /// <summary>The schemas this codec knows.</summary>
    public EventSchemaCatalog Catalog => _catalog;

    /// <summary>Encodes an event with its current schema.</summary>
    public byte[] Serialize<T>(T value)
        where T : class
    {
        using var stream = new MemoryStream(256);
        Serialize(value, stream);
        return stream.ToArray();
    }

    /// <summary>Encodes an event with its current schema into a stream.</summary>
    public void Serialize<T>(T value, Stream destination)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(value);
        ArgumentNullException.ThrowIfNull(destination);
        var writer = (Writer<T>)_writers.GetOrAdd(typeof(T), _ => CreateWriter<T>());
        Span<byte> header = stackalloc byte[HeaderLength];
        header[0] = Marker0;
        header[1] = Marker1;
        BinaryPrimitives.WriteInt64LittleEndian(header[2..], writer.Fingerprint);
        destination.Write(header);
        writer.Datum.Write(value, new BinaryEncoder(destination));
    }

    /// <summary>Reads the writer-schema fingerprint from the header without decoding the body.</summary>
    public static long ReadFingerprint(ReadOnlySpan<byte> data)
    {
        if (data.Length < HeaderLength)
        {
            throw new EventDecodeException(DecodeError.Truncated, $"{data.Length} bytes is shorter than the {HeaderLength}-byte single-object header.");
        }

        if (data[0] == 0x00)
        {
            // The most common producer mistake: Confluent's Avro serializer. Say what it is and what to use instead.
            throw new EventDecodeException(DecodeError.ConfluentFraming, string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"This is Confluent Schema Registry framing (magic byte 00, schema id {BinaryPrimitives.ReadInt32BigEndian(data[1..5])}); StreamMonitor reads Avro single-object encoding (C3 01 + the schema's CRC-64-AVRO fingerprint + the Avro body): write it with Avro's BinaryMessageEncoder (Java) or as C3 01 + the 8-byte little-endian fingerprint + the Avro binary body (writer schemas: schemas/*.avsc), not with a Schema Registry serializer."));
        }

        if (data[0] != Marker0 || data[1] != Marker1)
        {
            throw new EventDecodeException(DecodeError.BadMarker, $"Expected marker C3 01, found {data[0]:X2} {data[1]:X2}.");
        }

        return BinaryPrimitives.ReadInt64LittleEndian(data[2..HeaderLength]);
    }

    /// <summary>
    /// Decodes an event; throws <see cref="EventDecodeException"/> with a typed reason on bad input. A FeatureEvent or
    /// Label may also arrive as JSON (<see cref="EventJson"/>), told apart per record by its first byte.
    /// </summary>
    public T Deserialize<T>(byte[] data)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(data);
        if (EventJson.IsJson(data))
        {
            return EventJson.Read<T>(data);
        }

        var fingerprint = ReadFingerprint(data);
        var reader = GetReader<T>(fingerprint);
        var decoder = new BoundedBinaryDecoder(data, HeaderLength, data.Length - HeaderLength);
        T value;
        try
        {
            value = reader.Read(null!, decoder);
        }
        catch (Exception ex) when (ex is AvroException or EndOfStreamException or IOException or InvalidCastException
                                       or ArgumentException or OverflowException or FormatException or InvalidOperationException
                                       or IndexOutOfRangeException)
        {
            throw new EventDecodeException(DecodeError.CorruptBody, $"Body does not decode as {typeof(T).Name}: {ex.Message}", ex);
        }

        if (decoder.Remaining != 0)
        {
            throw new EventDecodeException(DecodeError.CorruptBody, $"{decoder.Remaining} trailing bytes after a {typeof(T).Name}.");
        }

        return value;
    }

    /// <summary>Decodes an event, returning the typed error instead of throwing.</summary>
    public bool TryDeserialize<T>(byte[] data, out T? value, out EventDecodeException? error)
        where T : class
    {
        try
        {
            value = Deserialize<T>(data);
            error = null;
            return true;
        }
        catch (EventDecodeException ex)
        {
            value = null;
            error = ex;
            return false;
        }
    }

    private ReflectReader<T> GetReader<T>(long fingerprint)
        where T : class
    {
        if (_readers.TryGetValue((typeof(T), fingerprint), out var cached))
        {
            return (ReflectReader<T>)cached;
        }

        if (!_catalog.TryGetWriterSchema(fingerprint, out var writerSchema))
        {
            throw new EventDecodeException(DecodeError.UnknownFingerprint, $"No known writer schema has fingerprint {fingerprint:X16}.");
        }

        var readerSchema = _catalog.ReaderSchemaOf<T>();
        if (!string.Equals(writerSchema.Fullname, readerSchema.Fullname, StringComparison.Ordinal))
        {
            throw new EventDecodeException(DecodeError.SchemaMismatch, $"Record is a {writerSchema.Fullname}, not a {readerSchema.Fullname}.");
        }

        ReflectReader<T> reader;
        try
        {
            reader = new ReflectReader<T>(writerSchema, readerSchema);
        }
        catch (AvroException ex)
        {
            throw new EventDecodeException(DecodeError.SchemaMismatch, $"Writer schema {fingerprint:X16} cannot be resolved against the current {typeof(T).Name}: {ex.Message}", ex);
        }

        return (ReflectReader<T>)_readers.GetOrAdd((typeof(T), fingerprint), reader);
    }

    private Writer<T> CreateWriter<T>()
        where T : class
    {
        var schema = _catalog.ReaderSchemaOf<T>();
        return new Writer<T>(new ReflectWriter<T>(schema), EventSchemaCatalog.Fingerprint(schema));
    }

    private sealed record Writer<T>(ReflectWriter<T> Datum, long Fingerprint);
}
