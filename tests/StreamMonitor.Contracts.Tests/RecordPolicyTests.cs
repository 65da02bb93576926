using System.Security.Cryptography;
using System.Text;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.Validation;
using StreamMonitor.Testing;

namespace StreamMonitor.Contracts.Tests;

/// <summary>The cases of issue #11 at the policy level: each bad record gets its stable reason.</summary>
public sealed class RecordPolicyTests
{
    private const long Now = 1_796_000_000_000;
    private static readonly EventCodec Codec = new();
    private static readonly RecordPolicy Policy = new(Codec);

    private static FeatureEvent Event(string id = "ev-1", string model = "breast-cancer", long time = Now) =>
        new() { EventId = id, ModelName = model, EntityId = "patient-7", EventTimeMs = time, Features = new() { ["x"] = 1.5 } };

    private static string CodeOf<T>(Validated<T> outcome)
        where T : class
    {
        Assert.False(outcome.IsValid);
        return outcome.Rejection!.ReasonCode;
    }

    [Fact]
    public void A_good_event_is_valid() =>
        Assert.True(Policy.Features(Codec.Serialize(Event()), Now).IsValid);

    [Theory]
    [InlineData("")]
    [InlineData("breast\tcancer")]
    [InlineData("line\nbreak")]
    [InlineData("nul\0")]
    [InlineData("sep\u2028arator")]
    public void Bad_model_names_are_invalid_identifiers(string model) =>
        Assert.Equal(ReasonCodes.InvalidIdentifier, CodeOf(Policy.Features(Codec.Serialize(Event(model: model)), Now)));

    [Fact]
    public void Identifiers_longer_than_the_limit_are_rejected_and_the_limit_is_accepted()
    {
        Assert.True(Policy.Features(Codec.Serialize(Event(id: new string('a', Identifiers.MaxLength))), Now).IsValid);
        Assert.Equal(ReasonCodes.InvalidIdentifier, CodeOf(Policy.Features(Codec.Serialize(Event(id: new string('a', Identifiers.MaxLength + 1))), Now)));
    }

    [Fact]
    public void Invalid_utf8_in_an_event_id_is_a_corrupt_body_not_a_replacement_character()
    {
        var bytes = Codec.Serialize(Event(id: "ev-AB"));
        var at = bytes.AsSpan().IndexOf("ev-AB"u8);
        bytes[at + 3] = 0xC3; // a lead byte followed by 'B' (not a continuation byte)
        Assert.Equal(ReasonCodes.DecodeCorruptBody, CodeOf(Policy.Features(bytes, Now)));
    }

    [Theory]
    [InlineData(long.MaxValue)]
    [InlineData(long.MinValue)]
    [InlineData(-1L)]
    [InlineData(EventTimePolicy.MaxEventTimeMs + 1)]
    public void Event_times_outside_the_representable_range_are_implausible_even_without_a_timestamp(long time) =>
        Assert.Equal(ReasonCodes.EventTimeImplausible, CodeOf(Policy.Features(Codec.Serialize(Event(time: time)), null)));

    [Fact]
    public void Microseconds_sent_as_milliseconds_are_implausible()
    {
        var outcome = Policy.Features(Codec.Serialize(Event(time: Now * 1000 % EventTimePolicy.MaxEventTimeMs)), Now);
        Assert.Equal(ReasonCodes.EventTimeImplausible, CodeOf(outcome));
        Assert.Equal(Now * 1000 % EventTimePolicy.MaxEventTimeMs, outcome.Rejection!.EventTimeMs);
    }

    [Fact]
    public void A_hundred_years_ahead_is_implausible_and_the_skew_bounds_are_inclusive()
    {
        var policy = Policy.EventTime;
        Assert.Equal(ReasonCodes.EventTimeImplausible, CodeOf(Policy.Features(Codec.Serialize(Event(time: Now + (100L * 365 * 86_400_000))), Now)));
        Assert.True(Policy.Features(Codec.Serialize(Event(time: Now + policy.MaxAheadMs)), Now).IsValid);
        Assert.False(Policy.Features(Codec.Serialize(Event(time: Now + policy.MaxAheadMs + 1)), Now).IsValid);
        Assert.True(Policy.Features(Codec.Serialize(Event(time: Now - policy.MaxBehindMs)), Now).IsValid);
        Assert.False(Policy.Features(Codec.Serialize(Event(time: Now - policy.MaxBehindMs - 1)), Now).IsValid);
    }

    [Fact]
    public void Seconds_sent_as_milliseconds_are_implausible() =>
        Assert.Equal(ReasonCodes.EventTimeImplausible, CodeOf(Policy.Features(Codec.Serialize(Event(time: Now / 1000)), Now)));

    [Fact]
    public void Confluent_schema_registry_framing_is_named_with_what_to_use_instead()
    {
        // 00, a big-endian schema id (42), then the Avro body: what Confluent's serializers write.
        var body = Codec.Serialize(Event())[EventCodec.HeaderLength..];
        byte[] framed = [0x00, 0x00, 0x00, 0x00, 0x2A, .. body];
        var outcome = Policy.Features(framed, Now);
        Assert.Equal(ReasonCodes.DecodeConfluentFraming, CodeOf(outcome));
        Assert.Contains("schema id 42", outcome.Rejection!.Detail, StringComparison.Ordinal);
        Assert.Contains("single-object encoding", outcome.Rejection.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Empty_and_missing_values_are_empty_records()
    {
        Assert.Equal(ReasonCodes.EmptyRecord, CodeOf(Policy.Predictions(null, Now)));
        Assert.Equal(ReasonCodes.EmptyRecord, CodeOf(Policy.Labels([], Now)));
    }

    [Fact]
    public void An_error_prediction_of_an_unknown_model_is_kept_in_the_unknown_bucket()
    {
        var prediction = new Prediction { EventId = "ev-1", ModelName = "breast\tcancer", ModelVersion = "", EventTimeMs = Now, Status = PredictionStatus.ERROR, ErrorReason = "VALIDATION_UNKNOWN_MODEL" };
        Assert.True(Policy.Predictions(Codec.Serialize(prediction), Now).TryGet(out var kept, out _));
        Assert.Equal(Identifiers.UnknownModelBucket, kept.ModelName);
        Assert.Equal(Identifiers.UnknownModelBucket, kept.ModelVersion);
    }

    [Fact]
    public void An_ok_prediction_without_a_version_or_with_a_nan_score_is_rejected()
    {
        var noVersion = new Prediction { EventId = "ev-1", ModelName = "m", ModelVersion = "", EventTimeMs = Now };
        Assert.Equal(ReasonCodes.InvalidIdentifier, CodeOf(Policy.Predictions(Codec.Serialize(noVersion), Now)));
        var nan = new Prediction { EventId = "ev-1", ModelName = "m", ModelVersion = "1", EventTimeMs = Now, Score = double.NaN };
        Assert.Equal(ReasonCodes.InvalidValue, CodeOf(Policy.Predictions(Codec.Serialize(nan), Now)));
        var negative = new Prediction { EventId = "ev-1", ModelName = "m", ModelVersion = "1", EventTimeMs = Now, Timing = new PredictionTiming { InferenceUs = -5 } };
        Assert.Equal(ReasonCodes.InvalidValue, CodeOf(Policy.Predictions(Codec.Serialize(negative), Now)));
    }

    [Fact]
    public void Labels_need_an_event_id_and_a_finite_value()
    {
        Assert.Equal(ReasonCodes.InvalidIdentifier, CodeOf(Policy.Labels(Codec.Serialize(new Label { EventId = "", Value = 1, LabelTimeMs = Now }), Now)));
        Assert.Equal(ReasonCodes.InvalidValue, CodeOf(Policy.Labels(Codec.Serialize(new Label { EventId = "e", Value = double.PositiveInfinity, LabelTimeMs = Now }), Now)));
        Assert.True(Policy.Labels(Codec.Serialize(new Label { EventId = "e", Value = 1, LabelTimeMs = Now }), Now).IsValid);
    }

    [Theory]
    [InlineData(0L, 60_000L, 10L, 1L, 0.1)]
    [InlineData(Now, 0L, 10L, 1L, 0.1)]
    [InlineData(Now, 60_000L, -1L, 0L, 0.0)]
    [InlineData(Now, 60_000L, 10L, 11L, 0.5)]
    [InlineData(Now, 60_000L, 10L, 1L, double.NaN)]
    [InlineData(long.MaxValue, 60_000L, 10L, 1L, 0.1)]
    [InlineData(EventTimePolicy.MaxEventTimeMs, 60_000L, 10L, 1L, 0.1)]
    public void Corrupt_latency_results_are_rejected(long start, long size, long count, long errors, double rate)
    {
        var result = new LatencyWindowResult { ModelName = "m", ModelVersion = "1", WindowStartMs = start, WindowSizeMs = size, Count = count, ErrorCount = errors, ErrorRate = rate };
        Assert.False(Policy.LatencyResults(Codec.Serialize(result), start == 0 ? Now : null).IsValid);
    }

    [Fact]
    public void A_good_latency_result_is_valid() =>
        Assert.True(Policy.LatencyResults(Codec.Serialize(new LatencyWindowResult { ModelName = "m", ModelVersion = "1", WindowStartMs = Now - 60_000, WindowSizeMs = 60_000, Count = 10, ErrorCount = 1, ErrorRate = 0.1 }), Now).IsValid);

    [Fact]
    public void Every_reason_code_is_listed_once_and_upper_snake_case()
    {
        var constants = typeof(ReasonCodes).GetFields().Where(f => f.IsLiteral).Select(f => (string)f.GetRawConstantValue()!).ToList();
        Assert.Equal(constants.Count, constants.Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(constants.Order(StringComparer.Ordinal), ReasonCodes.All.Keys.Order(StringComparer.Ordinal));
        Assert.All(constants, c => Assert.Matches("^[A-Z][A-Z0-9_]*$", c));
        foreach (var error in Enum.GetValues<DecodeError>())
        {
            Assert.Contains(new EventDecodeException(error, "x").ReasonCode, constants);
        }
    }

    [Fact]
    public void A_dead_letter_of_a_huge_record_keeps_its_envelope_with_the_payload_cut()
    {
        var payload = RandomNumberGenerator.GetBytes(1_000_000);
        var letter = DeadLetter.For("streammon.features", 2, 41, Encoding.UTF8.GetBytes("ev-1"), payload, ReasonCodes.DecodeCorruptBody, "bad", null, DeadLetter.DefaultMaxPayloadBytes);
        var decoded = Codec.Deserialize<DeadLetter>(Codec.Serialize(letter));
        Assert.True(decoded.PayloadTruncated);
        Assert.Equal(DeadLetter.DefaultMaxPayloadBytes, decoded.Payload!.Length);
        Assert.Equal(payload[..DeadLetter.DefaultMaxPayloadBytes], decoded.Payload);
        Assert.Equal(1_000_000, decoded.OriginalSize);
        Assert.Equal(SHA256.HashData(payload), decoded.PayloadSha256);
        Assert.True(Codec.Serialize(letter).Length < 1_000_000);
        Assert.Equal("streammon.features/2/41", Encoding.UTF8.GetString(DeadLetter.KeyOf("streammon.features", 2, 41)));
    }

    [Fact]
    public void A_small_dead_letter_keeps_its_payload_whole()
    {
        var letter = DeadLetter.For("t", 0, 1, null, [1, 2, 3], ReasonCodes.EmptyRecord, "x", null, DeadLetter.DefaultMaxPayloadBytes);
        Assert.False(letter.PayloadTruncated);
        Assert.Equal(new byte[] { 1, 2, 3 }, letter.Payload);
        Assert.Equal(3, letter.OriginalSize);
    }

    [Fact]
    public void Dead_letters_written_before_the_envelope_fields_still_decode()
    {
        var v1 = (Avro.RecordSchema)Avro.Schema.Parse(File.ReadAllText(Path.Combine(StreammonCli.RepositoryRoot, "schemas", "history", "dead-letter.v1.avsc")));
        var writer = new Avro.Generic.GenericDatumWriter<Avro.Generic.GenericRecord>(v1);
        var record = new Avro.Generic.GenericRecord(v1);
        record.Add("service", "scorer");
        record.Add("source_topic", "streammon.features");
        record.Add("source_partition", 1);
        record.Add("source_offset", 7L);
        record.Add("key", null);
        record.Add("payload", new byte[] { 9 });
        record.Add("reason_code", ReasonCodes.DecodeBadMarker);
        record.Add("reason", "x");
        record.Add("event_time_ms", null);
        record.Add("observed_at_ms", 5L);
        using var stream = new MemoryStream();
        stream.Write([0xC3, 0x01]);
        stream.Write(BitConverter.GetBytes(EventSchemaCatalog.Fingerprint(v1)));
        writer.Write(record, new Avro.IO.BinaryEncoder(stream));
        var decoded = Codec.Deserialize<DeadLetter>(stream.ToArray());
        Assert.Equal(ReasonCodes.DecodeBadMarker, decoded.ReasonCode);
        Assert.Equal(-1, decoded.OriginalSize);
        Assert.False(decoded.PayloadTruncated);
    }
}
