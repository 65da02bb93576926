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

        var reader = new AvroBodyReader(data.AsSpan(EventCodec.HeaderLength));
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

    private static EventDecodeException Corrupt(string detail) => AvroBodyReader.Corrupt(detail);
}
