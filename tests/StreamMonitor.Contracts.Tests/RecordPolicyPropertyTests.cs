using FsCheck;
using FsCheck.Xunit;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.Validation;

namespace StreamMonitor.Contracts.Tests;

/// <summary>
/// Property tests of the one decode-and-validate policy: whatever bytes, strings, longs and doubles a producer sends,
/// every record type yields a valid event or a rejection with a listed reason code, never an exception, and whatever
/// it accepts satisfies the identifier and event-time rules.
/// </summary>
public sealed class RecordPolicyPropertyTests
{
    private static readonly EventCodec Codec = new();
    private static readonly RecordPolicy Policy = new(Codec);

    /// <summary>Every record type's entry point, as bytes in, outcome out.</summary>
    private static IEnumerable<(string Type, Func<byte[]?, long?, (bool Valid, Rejection? Rejection)> Decode)> Decoders()
    {
        yield return ("FeatureEvent", (b, t) => Outcome(Policy.Features(b, t)));
        yield return ("Prediction", (b, t) => Outcome(Policy.Predictions(b, t)));
        yield return ("Label", (b, t) => Outcome(Policy.Labels(b, t)));
        yield return ("LatencyWindowResult", (b, t) => Outcome(Policy.LatencyResults(b, t)));
        yield return ("DriftWindowResult", (b, t) => Outcome(Policy.DriftResults(b, t)));
        yield return ("QualityWindowResult", (b, t) => Outcome(Policy.QualityResults(b, t)));
    }

    private static (bool, Rejection?) Outcome<T>(Validated<T> v)
        where T : class => (v.IsValid, v.Rejection);

    private static bool RejectsOrAccepts(byte[]? bytes, long? timestamp)
    {
        foreach (var (_, decode) in Decoders())
        {
            var (valid, rejection) = decode(bytes, timestamp);
            if (!valid && (rejection is null || !ReasonCodes.All.ContainsKey(rejection.ReasonCode)))
            {
                return false;
            }
        }

        return true;
    }

    [Property(MaxTest = 400)]
    public bool Arbitrary_bytes_are_rejected_with_a_listed_code_never_thrown(byte[] bytes, long timestamp) =>
        RejectsOrAccepts(bytes, timestamp);

    [Property(MaxTest = 400)]
    public bool Arbitrary_bodies_behind_a_valid_header_never_throw(byte[] body, int typeIndex)
    {
        // A real fingerprint, so the body reaches the Avro decoder with each record type's writer schema.
        var schemas = Codec.Catalog.CurrentSchemas.ToList();
        var schema = schemas[(int)((uint)typeIndex % (uint)schemas.Count)];
        var bytes = new byte[EventCodec.HeaderLength + (body?.Length ?? 0)];
        bytes[0] = 0xC3;
        bytes[1] = 0x01;
        BitConverter.TryWriteBytes(bytes.AsSpan(2), EventSchemaCatalog.Fingerprint(schema));
        body?.CopyTo(bytes, EventCodec.HeaderLength);
        return RejectsOrAccepts(bytes, null);
    }

    [Property(MaxTest = 300)]
    public bool Arbitrary_feature_events_are_valid_only_when_the_rules_hold(string eventId, string modelName, string entityId, long eventTime, long timestamp, double value, string featureName)
    {
        var featureEvent = new FeatureEvent
        {
            EventId = eventId ?? "",
            ModelName = modelName ?? "",
            EntityId = entityId ?? "",
            EventTimeMs = eventTime,
            Features = new() { [featureName ?? "f"] = value },
        };
        var bytes = Codec.Serialize(featureEvent);
        var outcome = Policy.Features(bytes, timestamp);
        if (!outcome.TryGet(out var decoded, out var rejection))
        {
            return ReasonCodes.All.ContainsKey(rejection.ReasonCode);
        }

        return Identifiers.IsValid(decoded.EventId) && Identifiers.IsValid(decoded.ModelName)
               && Identifiers.Check("entity_id", decoded.EntityId, required: false) is null
               && decoded.EventTimeMs - timestamp <= Policy.EventTime.MaxAheadMs
               && timestamp - decoded.EventTimeMs <= Policy.EventTime.MaxBehindMs;
    }

    [Property(MaxTest = 300)]
    public bool Arbitrary_predictions_never_throw_and_errors_keep_a_valid_bucket(string eventId, string modelName, string version, long eventTime, double score, long e2eUs, bool error)
    {
        var prediction = new Prediction
        {
            EventId = eventId ?? "",
            ModelName = modelName ?? "",
            ModelVersion = version ?? "",
            EventTimeMs = eventTime,
            Status = error ? PredictionStatus.ERROR : PredictionStatus.OK,
            Score = score,
            Timing = new PredictionTiming { E2eUs = e2eUs },
        };
        var outcome = Policy.Predictions(Codec.Serialize(prediction), null);
        if (!outcome.TryGet(out var decoded, out var rejection))
        {
            return ReasonCodes.All.ContainsKey(rejection.ReasonCode);
        }

        return Identifiers.IsValid(decoded.ModelName) && Identifiers.IsValid(decoded.ModelVersion) && Identifiers.IsValid(decoded.EventId)
               && decoded.EventTimeMs is >= EventTimePolicy.MinEventTimeMs and <= EventTimePolicy.MaxEventTimeMs
               && decoded.Timing.E2eUs >= 0 && (decoded.Score is not { } s || double.IsFinite(s));
    }

    [Property(MaxTest = 300)]
    public bool Arbitrary_labels_never_throw(string eventId, string modelName, double value, long labelTime, long timestamp)
    {
        var bytes = Codec.Serialize(new Label { EventId = eventId ?? "", ModelName = modelName, Value = value, LabelTimeMs = labelTime });
        var outcome = Policy.Labels(bytes, timestamp);
        return outcome.TryGet(out var label, out var rejection)
            ? Identifiers.IsValid(label.EventId) && double.IsFinite(label.Value)
            : ReasonCodes.All.ContainsKey(rejection.ReasonCode);
    }

    [Property(MaxTest = 300)]
    public bool Arbitrary_results_never_throw(string modelName, string version, long start, long size, long count, long errors, double rate)
    {
        var latency = Codec.Serialize(new LatencyWindowResult { ModelName = modelName ?? "", ModelVersion = version ?? "", WindowStartMs = start, WindowSizeMs = size, Count = count, ErrorCount = errors, ErrorRate = rate });
        var quality = Codec.Serialize(new QualityWindowResult { ModelName = modelName ?? "", ModelVersion = version ?? "", WindowStartMs = start, WindowSizeMs = size, Predictions = count, Labeled = errors, LabelCoverage = rate });
        var drift = Codec.Serialize(new DriftWindowResult { ModelName = modelName ?? "", ModelVersion = version ?? "", WindowStartMs = start, WindowSizeMs = size, Count = count, DriftedShare = rate });
        bool Ok<T>(Validated<T> v, Func<T, bool> holds)
            where T : class => v.TryGet(out var value, out var rejection) ? holds(value) : ReasonCodes.All.ContainsKey(rejection.ReasonCode);
        return Ok(Policy.LatencyResults(latency, null), r => r.WindowSizeMs > 0 && r.Count >= r.ErrorCount && r.ErrorCount >= 0 && r.ErrorRate is >= 0 and <= 1)
               && Ok(Policy.QualityResults(quality, null), r => r.WindowSizeMs > 0 && r.Predictions >= 0 && r.LabelCoverage is >= 0 and <= 1)
               && Ok(Policy.DriftResults(drift, null), r => r.WindowSizeMs > 0 && r.Count >= 0 && Identifiers.IsValid(r.ModelVersion));
    }

    [Property(MaxTest = 300)]
    public bool Flipped_and_truncated_valid_records_never_throw(string eventId, long eventTime, int position, byte flip, int cut)
    {
        var bytes = Codec.Serialize(new Prediction { EventId = eventId ?? "e", ModelName = "m", ModelVersion = "1", EventTimeMs = eventTime });
        var mutated = (byte[])bytes.Clone();
        mutated[(int)((uint)position % (uint)mutated.Length)] ^= flip;
        var truncated = bytes[..(int)((uint)cut % (uint)bytes.Length)];
        return RejectsOrAccepts(mutated, null) && RejectsOrAccepts(truncated, null);
    }
}
