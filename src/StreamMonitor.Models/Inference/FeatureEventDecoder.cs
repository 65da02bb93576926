using System.Buffers.Binary;
using System.Text;
using Avro;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.Validation;

namespace StreamMonitor.Models.Inference;

/// <summary>
/// Decodes a single-object-encoded <see cref="FeatureEvent"/> exactly as <see cref="EventCodec"/> does, without
/// reflection: Avro.Reflect's reader costs about 50 us per event, close to a row's inference. The fast path reads
/// only records whose fingerprint is the current FeatureEvent schema's, and only while that schema has exactly the
/// fields it was written for (checked once, at construction); every other record goes through the codec, which
/// resolves older and newer writer schemas, and JSON records (<see cref="EventJson"/>). Bounds checks are those of the codec's decoder: a declared length or
/// block count larger than the bytes left is rejected before anything is allocated, and every body error is a
/// <see cref="DecodeError.CorruptBody"/>. Thread-safe (no mutable state).
/// </summary>
public sealed class FeatureEventDecoder
{
    private static readonly (string Name, string Type)[] Fields =
    [
        ("event_id", "string"), ("model_name", "string"), ("entity_id", "string"), ("event_time_ms", "long"),
        ("features", "map<[null,double]>"), ("categorical", "map<[null,string]>"),
    ];

    private readonly EventCodec _codec;
    private readonly long _fingerprint;

    /// <summary>Creates a decoder for the codec's current FeatureEvent schema.</summary>
    public FeatureEventDecoder(EventCodec codec)
    {
        ArgumentNullException.ThrowIfNull(codec);
        _codec = codec;
        var schema = codec.Catalog.ReaderSchemaOf<FeatureEvent>();
        _fingerprint = EventSchemaCatalog.Fingerprint(schema);
        IsFastPath = schema.Fields.Select(f => (f.Name, Describe(f.Schema))).SequenceEqual(Fields);
    }

    /// <summary>Whether the reflection-free path is in use for current-schema records.</summary>
    public bool IsFastPath { get; }

    /// <summary>Decodes an event; throws <see cref="EventDecodeException"/> with the codec's reason on bad input.</summary>
    public FeatureEvent Decode(byte[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (!IsFastPath || EventJson.IsJson(data) || EventCodec.ReadFingerprint(data) != _fingerprint)
        {
            return _codec.Deserialize<FeatureEvent>(data);
        }

        var reader = new Reader(data.AsSpan(EventCodec.HeaderLength));
        var featureEvent = new FeatureEvent
        {
            EventId = reader.String(),
            ModelName = reader.String(),
            EntityId = reader.String(),
            EventTimeMs = reader.Long(),
        };

        var features = featureEvent.Features;
        for (var count = reader.BlockCount(); count != 0; count = reader.BlockCount())
        {
            features.EnsureCapacity(features.Count + (int)count);
            for (long i = 0; i < count; i++)
            {
                var key = reader.String();
                features[key] = reader.UnionIndex() == 0 ? null : reader.Double();
            }
        }

        var categorical = featureEvent.Categorical;
        for (var count = reader.BlockCount(); count != 0; count = reader.BlockCount())
        {
            for (long i = 0; i < count; i++)
            {
                var key = reader.String();
                categorical[key] = reader.UnionIndex() == 0 ? null : reader.String();
            }
        }

        if (reader.Remaining != 0)
        {
            throw Corrupt($"{reader.Remaining} trailing bytes after a FeatureEvent.");
        }

        return featureEvent;
    }

    /// <summary>Decodes an event, returning the typed error instead of throwing.</summary>
    public bool TryDecode(byte[] data, out FeatureEvent? value, out EventDecodeException? error)
    {
        try
        {
            value = Decode(data);
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

    private static string Describe(Schema schema) => schema switch
    {
        MapSchema map => $"map<{Describe(map.ValueSchema)}>",
        UnionSchema union => $"[{string.Join(',', union.Schemas.Select(Describe))}]",
        _ => schema.Tag.ToString().ToLowerInvariant(),
    };

    private static EventDecodeException Corrupt(string detail) =>
        new(DecodeError.CorruptBody, $"Body does not decode as FeatureEvent: {detail}");

    /// <summary>Avro binary reader over the body with the checks of the codec's bounded decoder.</summary>
    private ref struct Reader(ReadOnlySpan<byte> body)
    {
        private readonly ReadOnlySpan<byte> _body = body;
        private int _position;

        public readonly int Remaining => _body.Length - _position;

        public long Long()
        {
            ulong raw = 0;
            for (var shift = 0; shift < 70; shift += 7)
            {
                if (_position >= _body.Length)
                {
                    throw Corrupt("Needed 1 bytes, 0 left.");
                }

                var b = _body[_position++];
                if (shift == 63 && b > 1)
                {
                    throw Corrupt("Varint longer than 64 bits.");
                }

                raw |= (ulong)(b & 0x7F) << shift;
                if ((b & 0x80) == 0)
                {
                    return (long)(raw >> 1) ^ -(long)(raw & 1);
                }
            }

            throw Corrupt("Varint longer than 10 bytes.");
        }

        /// <summary>Union branch of a ["null", T] value: 0 or 1, anything else is corrupt.</summary>
        public int UnionIndex() => Long() switch
        {
            0 => 0,
            1 => 1,
            var index => throw Corrupt($"Union index {index} is not a branch of [null, value]."),
        };

        public double Double()
        {
            if (Remaining < 8)
            {
                throw Corrupt($"Needed 8 bytes, {Remaining} left.");
            }

            var value = BinaryPrimitives.ReadDoubleLittleEndian(_body.Slice(_position, 8));
            _position += 8;
            return value;
        }

        public string String()
        {
            var length = Long();
            if (length < 0 || length > Remaining)
            {
                throw Corrupt($"Declared length {length} with {Remaining} bytes left.");
            }

            string value;
            try
            {
                value = StrictUtf8.Encoding.GetString(_body.Slice(_position, (int)length));
            }
            catch (DecoderFallbackException)
            {
                throw Corrupt($"String at byte {_position} is not valid UTF-8.");
            }

            _position += (int)length;
            return value;
        }

        /// <summary>Items in the next map block (0 ends the map); a negative count is followed by the block's byte size.</summary>
        public long BlockCount()
        {
            var count = Long();
            if (count < 0)
            {
                count = count == long.MinValue ? throw Corrupt("Invalid block count.") : -count;
                Long();
            }

            return count > Remaining ? throw Corrupt($"Block of {count} items with {Remaining} bytes left.") : count;
        }
    }
}
