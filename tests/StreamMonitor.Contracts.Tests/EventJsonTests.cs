using System.Text;
using System.Text.Json;
using StreamMonitor.Contracts.Validation;

namespace StreamMonitor.Contracts.Tests;

/// <summary>
/// FeatureEvent and Label as JSON: detected per record, read strictly, validated by the same policy as Avro records,
/// and every problem is DECODE_JSON with the member and position named.
/// </summary>
public sealed class EventJsonTests
{
    private static readonly EventCodec Codec = new();
    private static readonly RecordPolicy Policy = new(Codec);
    private const long Now = 1_700_000_000_000;

    private const string ValidFeatures = """
        {"event_id": "ev-1", "model_name": "churn", "entity_id": "c-7", "event_time_ms": 1700000000000,
         "features": {"age": 42.5, "tenure": null, "visits": 3}, "categorical": {"plan": "pro", "region": null}}
        """;

    private const string ValidLabel = """{"event_id": "ev-1", "model_name": "churn", "label": 1, "label_time_ms": 1700000000000}""";

    private static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);

    private static Rejection RejectFeatures(string json)
    {
        var outcome = Policy.Features(Utf8(json), Now);
        Assert.False(outcome.IsValid, json);
        return outcome.Rejection!;
    }

    [Fact]
    public void A_valid_feature_event_reads_every_field()
    {
        Assert.True(Policy.Features(Utf8(ValidFeatures), Now).TryGet(out var e, out var rejection), rejection?.ToString());
        Assert.Equal(("ev-1", "churn", "c-7", Now), (e.EventId, e.ModelName, e.EntityId, e.EventTimeMs));
        Assert.Equal(new Dictionary<string, double?> { ["age"] = 42.5, ["tenure"] = null, ["visits"] = 3 }, e.Features);
        Assert.Equal(new Dictionary<string, string?> { ["plan"] = "pro", ["region"] = null }, e.Categorical);
    }

    [Fact]
    public void A_valid_label_reads_every_field_and_model_name_is_optional()
    {
        Assert.True(Policy.Labels(Utf8(ValidLabel), Now).TryGet(out var label, out _));
        Assert.Equal(("ev-1", "churn", 1.0, Now), (label.EventId, label.ModelName, label.Value, label.LabelTimeMs));
        Assert.True(Policy.Labels(Utf8("""{"event_id":"e","label":0.25,"label_time_ms":5}"""), null).TryGet(out var bare, out _));
        Assert.Null(bare.ModelName);
    }

    [Theory]
    [InlineData(" \r\n\t{")]
    [InlineData("{")]
    public void Detection_is_the_first_byte_other_than_whitespace(string prefix) =>
        Assert.True(EventJson.IsJson(Utf8(prefix)));

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("[{}]")]
    [InlineData("\uFEFF{}")]
    public void Other_first_bytes_are_not_json(string text) => Assert.False(EventJson.IsJson(Utf8(text)));

    [Fact]
    public void Avro_records_are_not_json() => Assert.False(EventJson.IsJson(Codec.Serialize(new FeatureEvent { EventId = "{" })));

    [Theory]
    [InlineData("""{"event_id":"e","model_name":"m","entity_id":"","event_time_ms":1.5e12,"features":{}}""", "event_time_ms 1.5e12 is not an integer")]
    [InlineData("""{"event_id":"e","model_name":"m","entity_id":"","event_time_ms":1700000000000.0,"features":{}}""", "event_time_ms 1700000000000.0 is not an integer")]
    [InlineData("""{"event_id":"e","model_name":"m","entity_id":"","event_time_ms":99999999999999999999,"features":{}}""", "does not fit a 64-bit integer")]
    [InlineData("""{"event_id":"e","model_name":"m","entity_id":"","event_time_ms":"1700000000000","features":{}}""", "event_time_ms must be an integer (ms since the epoch), found a string")]
    [InlineData("""{"event_id":"e","model_name":"m","entity_id":"","event_time_ms":1,"features":{"x":1e400}}""", "features.x 1e400 does not fit a double")]
    [InlineData("""{"event_id":"e","model_name":"m","entity_id":"","event_time_ms":1,"features":{"x":"1.5"}}""", "features.x must be a number, found a string (numbers are not quoted")]
    [InlineData("""{"event_id":"e","model_name":"m","entity_id":"","event_time_ms":1,"features":{"x":NaN}}""", "NaN and Infinity are not JSON")]
    [InlineData("""{"event_id":"e","model_name":"m","entity_id":"","event_time_ms":1,"features":{"x":[1]}}""", "features.x must be a number, found an array")]
    [InlineData("""{"event_id":"e","model_name":"m","entity_id":"","event_time_ms":1,"features":{"x":1,"x":2}}""", "features has the key 'x' twice")]
    [InlineData("""{"event_id":"e","model_name":"m","entity_id":"","event_time_ms":1,"features":{},"categorical":{"c":7}}""", "categorical.c must be a string or null, found a number")]
    [InlineData("""{"event_id":"e","event_id":"f","model_name":"m","entity_id":"","event_time_ms":1,"features":{}}""", "member 'event_id' appears twice")]
    [InlineData("""{"event_id":"e","model_name":"m","entity_id":"","event_time_ms":1,"features":{},"label":1}""", "unknown member 'label'")]
    [InlineData("""{"event_id":"e","model_name":"m","entity_id":"","features":{}}""", "required member event_time_ms is missing")]
    [InlineData("""{"event_id":null,"model_name":"m","entity_id":"","event_time_ms":1,"features":{}}""", "event_id must be a string, found null")]
    [InlineData("""{"event_id":"e","model_name":"m","entity_id":"","event_time_ms":1,"features":[]}""", "features must be an object of name: value, found an array")]
    [InlineData("""{"event_id":"e","model_name":"m","entity_id":"","event_time_ms":1,"features":{}} {}""", "not valid JSON")]
    [InlineData("""{"event_id":"e","model_name":"m","entity_id":"","event_time_ms":1,"features":{},}""", "not valid JSON")]
    [InlineData("""{"event_id":"e", // comment""", "not valid JSON")]
    [InlineData("""{"event_id":"a\ud800","model_name":"m","entity_id":"","event_time_ms":1,"features":{}}""", "unpaired surrogate")]
    [InlineData("{", "not valid JSON")]
    public void Json_problems_are_DECODE_JSON_naming_what_is_wrong(string json, string expected)
    {
        var rejection = RejectFeatures(json);
        Assert.Equal(ReasonCodes.DecodeJson, rejection.ReasonCode);
        Assert.Contains(expected, rejection.Detail, StringComparison.Ordinal);
        Assert.StartsWith("JSON FeatureEvent: ", rejection.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Problems_name_the_byte_position()
    {
        var json = """{"event_id":"e","model_name":"m","entity_id":"","event_time_ms":1,"features":{"x":true}}""";
        Assert.Contains($"(at byte {json.IndexOf("true", StringComparison.Ordinal)})", RejectFeatures(json).Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_utf8_is_DECODE_JSON()
    {
        var bytes = Utf8("""{"event_id":"e?","model_name":"m","entity_id":"","event_time_ms":1,"features":{}}""");
        bytes[Array.IndexOf(bytes, (byte)'?')] = 0xC3;
        var outcome = Policy.Features(bytes, null);
        Assert.Equal(ReasonCodes.DecodeJson, outcome.Rejection!.ReasonCode);
        Assert.Contains("not valid UTF-8", outcome.Rejection.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"event_id":"","model_name":"m","entity_id":"","event_time_ms":1700000000000,"features":{}}""", ReasonCodes.InvalidIdentifier)]
    [InlineData("""{"event_id":"e\u0009","model_name":"m","entity_id":"","event_time_ms":1700000000000,"features":{}}""", ReasonCodes.InvalidIdentifier)]
    [InlineData("""{"event_id":"e","model_name":"a|b","entity_id":"","event_time_ms":1700000000000,"features":{}}""", ReasonCodes.InvalidIdentifier)]
    [InlineData("""{"event_id":"e","model_name":"m","entity_id":"","event_time_ms":1700000000,"features":{}}""", ReasonCodes.EventTimeImplausible)]
    [InlineData("""{"event_id":"e","model_name":"m","entity_id":"","event_time_ms":-1,"features":{}}""", ReasonCodes.EventTimeImplausible)]
    public void Decoded_json_is_validated_by_the_same_rules_as_avro(string json, string code)
    {
        Assert.Equal(code, RejectFeatures(json).ReasonCode);
        var e = Codec.Deserialize<FeatureEvent>(Utf8(json));
        Assert.Equal(code, Policy.Features(Codec.Serialize(e), Now).Rejection!.ReasonCode);
    }

    [Theory]
    [InlineData("""{"event_id":"e","label":"1","label_time_ms":1}""", "label must be a number, found a string")]
    [InlineData("""{"event_id":"e","label":1,"label_time_ms":1,"entity_id":"x"}""", "unknown member 'entity_id'")]
    [InlineData("""{"event_id":"e","label_time_ms":1}""", "required member label is missing")]
    [InlineData("""{"event_id":"e","label":1,"label_time_ms":1,"model_name":3}""", "model_name must be a string or null")]
    public void Label_problems_are_DECODE_JSON(string json, string expected)
    {
        var rejection = Policy.Labels(Utf8(json), null).Rejection!;
        Assert.Equal(ReasonCodes.DecodeJson, rejection.ReasonCode);
        Assert.Contains(expected, rejection.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Other_events_have_no_json_shape()
    {
        var rejection = Policy.Predictions(Utf8(ValidFeatures), null).Rejection!;
        Assert.Equal(ReasonCodes.DecodeBadMarker, rejection.ReasonCode);
        Assert.Contains("only FeatureEvent and Label are accepted as JSON", rejection.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void The_json_examples_in_the_docs_are_valid_events()
    {
        var doc = File.ReadAllText(Path.Combine(Testing.StreammonCli.RepositoryRoot, "docs", "producing.md"));
        var blocks = doc.Split("```json\n").Skip(1).Select(b => b[..b.IndexOf("```", StringComparison.Ordinal)]).ToList();
        var (features, labels) = (blocks.Where(b => b.Contains("\"features\"", StringComparison.Ordinal)).ToList(), blocks.Where(b => !b.Contains("\"features\"", StringComparison.Ordinal)).ToList());
        Assert.Single(features);
        Assert.Single(labels);
        Assert.True(Policy.Features(Utf8(features[0]), null).IsValid, Policy.Features(Utf8(features[0]), null).Rejection?.ToString());
        Assert.True(Policy.Labels(Utf8(labels[0]), null).IsValid, Policy.Labels(Utf8(labels[0]), null).Rejection?.ToString());
    }

    [Fact]
    public void Json_schema_files_have_the_avro_fields_and_the_readers_required_members()
    {
        Check("feature-event", EventJson.FeatureEventRequired, ValidFeatures, json => Policy.Features(json, Now).Rejection);
        Check("label", EventJson.LabelRequired, ValidLabel, json => Policy.Labels(json, Now).Rejection);

        static void Check(string name, IReadOnlyList<string> readerRequired, string valid, Func<byte[], Rejection?> read)
        {
            var schemas = Path.Combine(Testing.StreammonCli.RepositoryRoot, "schemas");
            using var avro = JsonDocument.Parse(File.ReadAllText(Path.Combine(schemas, name + ".avsc")));
            using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(schemas, name + ".schema.json")));
            var avroFields = avro.RootElement.GetProperty("fields").EnumerateArray().ToList();
            var withoutDefault = avroFields.Where(f => !f.TryGetProperty("default", out _)).Select(f => f.GetProperty("name").GetString()!).ToList();

            Assert.Equal(avroFields.Select(f => f.GetProperty("name").GetString()), json.RootElement.GetProperty("properties").EnumerateObject().Select(p => p.Name));
            Assert.Equal(withoutDefault, json.RootElement.GetProperty("required").EnumerateArray().Select(r => r.GetString()));
            Assert.Equal(withoutDefault, readerRequired);
            Assert.False(json.RootElement.GetProperty("additionalProperties").GetBoolean());

            // The reader agrees: dropping a required member is refused, dropping an optional one is not.
            var members = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(valid)!;
            foreach (var member in members.Keys)
            {
                var rejection = read(JsonSerializer.SerializeToUtf8Bytes(members.Where(m => m.Key != member).ToDictionary()));
                Assert.Equal(withoutDefault.Contains(member) ? ReasonCodes.DecodeJson : null, rejection?.ReasonCode);
            }
        }
    }
}
