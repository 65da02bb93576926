using System.Buffers.Binary;
using System.Text.Json.Nodes;
using Avro;
using Avro.Generic;
using Avro.IO;
using StreamMonitor.Contracts;

namespace StreamMonitor.Contracts.Tests;

/// <summary>
/// Schema evolution without a registry: a consumer on the current FeatureEvent reads records written with a v2 schema
/// (a field added with a default; an optional field removed) once the v2 schema is in its catalog, and a v2 reader reads
/// current (v1) records.
/// </summary>
public sealed class SchemaEvolutionTests
{
    private static readonly RecordSchema V1 = new EventSchemaCatalog().ReaderSchemaOf<FeatureEvent>();

    /// <summary>v2: adds "source" with a default.</summary>
    private static readonly RecordSchema V2Added = Evolve(fields => fields.Add(JsonNode.Parse("""{"name": "source", "type": "string", "default": "unknown"}""")));

    /// <summary>v2: drops the optional "categorical" map.</summary>
    private static readonly RecordSchema V2Removed = Evolve(fields => fields.Remove(fields.Single(f => (string?)f!["name"] == "categorical")));

    private static RecordSchema Evolve(Action<JsonArray> change)
    {
        var json = JsonNode.Parse(V1.ToString())!;
        change(json["fields"]!.AsArray());
        return (RecordSchema)Schema.Parse(json.ToJsonString());
    }

    private static byte[] WriteGeneric(RecordSchema schema, Action<GenericRecord> fill)
    {
        var record = new GenericRecord(schema);
        fill(record);
        using var stream = new MemoryStream();
        var header = new byte[EventCodec.HeaderLength];
        header[0] = 0xC3;
        header[1] = 0x01;
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(2), EventSchemaCatalog.Fingerprint(schema));
        stream.Write(header);
        new GenericDatumWriter<GenericRecord>(schema).Write(record, new BinaryEncoder(stream));
        return stream.ToArray();
    }

    private static GenericRecord ReadGeneric(byte[] bytes, RecordSchema writer, RecordSchema reader)
    {
        Assert.Equal(EventSchemaCatalog.Fingerprint(writer), EventCodec.ReadFingerprint(bytes));
        using var stream = new MemoryStream(bytes, EventCodec.HeaderLength, bytes.Length - EventCodec.HeaderLength);
        return new GenericDatumReader<GenericRecord>(writer, reader).Read(null!, new BinaryDecoder(stream));
    }

    private static void FillCommon(GenericRecord record)
    {
        record.Add("event_id", "ev-9");
        record.Add("model_name", "m");
        record.Add("entity_id", "e-1");
        record.Add("event_time_ms", 1_700_000_000_123L);
        record.Add("features", new Dictionary<string, object?> { ["x"] = 1.5, ["y"] = null });
    }

    [Fact]
    public void The_evolved_schemas_have_new_fingerprints()
    {
        Assert.NotEqual(EventSchemaCatalog.Fingerprint(V1), EventSchemaCatalog.Fingerprint(V2Added));
        Assert.NotEqual(EventSchemaCatalog.Fingerprint(V1), EventSchemaCatalog.Fingerprint(V2Removed));
    }

    [Fact]
    public void A_current_reader_reads_v2_data_with_an_added_field()
    {
        var bytes = WriteGeneric(V2Added, r =>
        {
            FillCommon(r);
            r.Add("categorical", new Dictionary<string, object?> { ["site"] = "north" });
            r.Add("source", "mobile");
        });

        var error = Assert.Throws<EventDecodeException>(() => new EventCodec().Deserialize<FeatureEvent>(bytes));
        Assert.Equal(DecodeError.UnknownFingerprint, error.Error);

        var decoded = new EventCodec(new EventSchemaCatalog([V2Added])).Deserialize<FeatureEvent>(bytes);
        Assert.Equal("ev-9", decoded.EventId);
        Assert.Equal(1_700_000_000_123L, decoded.EventTimeMs);
        Assert.Equal(1.5, decoded.Features["x"]);
        Assert.Null(decoded.Features["y"]);
        Assert.Equal("north", decoded.Categorical["site"]);
    }

    [Fact]
    public void A_current_reader_reads_v2_data_without_an_optional_field_as_its_default()
    {
        var bytes = WriteGeneric(V2Removed, FillCommon);
        var decoded = new EventCodec(new EventSchemaCatalog([V2Removed])).Deserialize<FeatureEvent>(bytes);
        Assert.Equal("ev-9", decoded.EventId);
        Assert.Equal(2, decoded.Features.Count);
        Assert.Empty(decoded.Categorical);
    }

    [Fact]
    public void A_v2_reader_reads_current_data()
    {
        var bytes = new EventCodec().Serialize(new FeatureEvent
        {
            EventId = "ev-1",
            ModelName = "m",
            EntityId = "e",
            EventTimeMs = 42,
            Features = new() { ["x"] = 2.0 },
            Categorical = new() { ["site"] = "south" },
        });

        var added = ReadGeneric(bytes, V1, V2Added);
        Assert.Equal("ev-1", added["event_id"]);
        Assert.Equal("unknown", added["source"]);

        var removed = ReadGeneric(bytes, V1, V2Removed);
        Assert.Equal(42L, removed["event_time_ms"]);
        Assert.False(removed.TryGetValue("categorical", out _));
    }
}
