namespace StreamMonitor.Contracts.Validation;

/// <summary>
/// Every dead-letter reason code, in one place. Codes are stable API: dashboards, alerts and users' scripts match on
/// them, so a code is never renamed or reused for another meaning. docs/dead-letters.md lists the same table.
/// </summary>
public static class ReasonCodes
{
    /// <summary>Fewer bytes than the 10-byte single-object header.</summary>
    public const string DecodeTruncated = "DECODE_TRUNCATED";

    /// <summary>The first two bytes are not the C3 01 marker of Avro single-object encoding.</summary>
    public const string DecodeBadMarker = "DECODE_BAD_MARKER";

    /// <summary>No known writer schema has the fingerprint in the header.</summary>
    public const string DecodeUnknownFingerprint = "DECODE_UNKNOWN_FINGERPRINT";

    /// <summary>The writer schema is another record type, or cannot be resolved against the reader's.</summary>
    public const string DecodeSchemaMismatch = "DECODE_SCHEMA_MISMATCH";

    /// <summary>The body does not decode with the writer schema (cut short, bad lengths, invalid UTF-8, trailing bytes).</summary>
    public const string DecodeCorruptBody = "DECODE_CORRUPT_BODY";

    /// <summary>Confluent Schema Registry's wire format (00 + schema id) instead of Avro single-object encoding.</summary>
    public const string DecodeConfluentFraming = "DECODE_CONFLUENT_FRAMING";

    /// <summary>A JSON record (FeatureEvent or Label) that is not valid JSON or not the documented shape (the message names the member and byte).</summary>
    public const string DecodeJson = "DECODE_JSON";

    /// <summary>The record has no value (a tombstone or an empty produce) on a topic that carries events.</summary>
    public const string EmptyRecord = "EMPTY_RECORD";

    /// <summary>A model name, version, entity id or event id is missing, too long or holds control characters.</summary>
    public const string InvalidIdentifier = "INVALID_IDENTIFIER";

    /// <summary>The event time is too far ahead of or behind the record's Kafka timestamp, or outside the representable range.</summary>
    public const string EventTimeImplausible = "EVENT_TIME_IMPLAUSIBLE";

    /// <summary>A number that must be finite and within its domain is not (a NaN label, a negative count, a zero window size).</summary>
    public const string InvalidValue = "INVALID_VALUE";

    /// <summary>A record on a topic the service does not read (a misconfigured subscription).</summary>
    public const string UnexpectedTopic = "UNEXPECTED_TOPIC";

    /// <summary>The event names a model the scorer does not serve.</summary>
    public const string UnknownModel = "VALIDATION_UNKNOWN_MODEL";

    /// <summary>The event names a served model whose current version failed to load.</summary>
    public const string ModelUnavailable = "MODEL_UNAVAILABLE";

    /// <summary>A feature the model needs is absent.</summary>
    public const string MissingFeature = "VALIDATION_MISSING_FEATURE";

    /// <summary>A numeric feature the model does not know is present (when extra features are rejected).</summary>
    public const string ExtraFeature = "VALIDATION_EXTRA_FEATURE";

    /// <summary>A numeric model feature arrived as a categorical (string) value.</summary>
    public const string WrongType = "VALIDATION_WRONG_TYPE";

    /// <summary>A model feature is null (under the Reject policy).</summary>
    public const string NullValue = "VALIDATION_NULL_VALUE";

    /// <summary>A model feature is NaN or infinite (under the Reject policy).</summary>
    public const string NonFinite = "VALIDATION_NON_FINITE";

    /// <summary>A value does not fit a float32 input.</summary>
    public const string OutOfRange = "VALIDATION_OUT_OF_RANGE";

    /// <summary>ONNX Runtime failed on the batch holding the event.</summary>
    public const string InferenceFailed = "INFERENCE_FAILED";

    /// <summary>A second prediction for an event id the quality join has already seen.</summary>
    public const string PredictionDuplicate = "PREDICTION_DUPLICATE";

    /// <summary>A label for a prediction that was already joined with a label (the first wins).</summary>
    public const string LabelDuplicate = "LABEL_DUPLICATE";

    /// <summary>A label that arrived after its prediction expired unlabeled.</summary>
    public const string LabelExpired = "LABEL_EXPIRED";

    /// <summary>A label for a prediction that failed (status ERROR): there is no output to judge.</summary>
    public const string LabelErrorPrediction = "LABEL_ERROR_PREDICTION";

    /// <summary>A label whose prediction never arrived within the label horizon.</summary>
    public const string LabelUnknownPrediction = "LABEL_UNKNOWN_PREDICTION";

    /// <summary>A derived point InfluxDB's line protocol cannot carry (the result itself is on its Kafka topic).</summary>
    public const string ProjectionRejected = "PROJECTION_REJECTED";

    /// <summary>
    /// An event time past the close (end + grace) of its window: the record goes to the late-events topic with this
    /// code (same envelope as a dead letter), not to the dead-letter topic.
    /// </summary>
    public const string Late = "LATE";

    /// <summary>A record of the aggregator's internal window-partials topic that does not parse.</summary>
    public const string PartialMalformed = "PARTIAL_MALFORMED";

    /// <summary>A window partial of a kind or model the merge has no configuration for (a topology or profile removed since).</summary>
    public const string PartialUnmergeable = "PARTIAL_UNMERGEABLE";

    /// <summary>A window partial that arrived after the merge retention dropped its window while its source was idle.</summary>
    public const string PartialExpired = "PARTIAL_EXPIRED";

    /// <summary>Every code with its meaning, for docs and tests.</summary>
    public static IReadOnlyDictionary<string, string> All { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [DecodeTruncated] = "fewer bytes than the 10-byte single-object header",
        [DecodeBadMarker] = "not Avro single-object encoding (no C3 01 marker)",
        [DecodeUnknownFingerprint] = "writer schema fingerprint unknown",
        [DecodeSchemaMismatch] = "another record type, or an unresolvable writer schema",
        [DecodeCorruptBody] = "body does not decode (cut short, bad lengths, invalid UTF-8, trailing bytes)",
        [DecodeConfluentFraming] = "Confluent Schema Registry framing (00 + schema id): use Avro single-object encoding",
        [DecodeJson] = "a JSON FeatureEvent or Label that is not valid JSON or not the documented shape (member and byte named)",
        [EmptyRecord] = "no value on an event topic",
        [InvalidIdentifier] = "model name, version, entity id or event id missing, too long or with control characters",
        [EventTimeImplausible] = "event time too far ahead of or behind the Kafka record timestamp",
        [InvalidValue] = "a number outside its domain (NaN label, negative count, zero window size)",
        [UnexpectedTopic] = "a topic the service does not read",
        [UnknownModel] = "the scorer does not serve this model",
        [ModelUnavailable] = "the model's current version failed to load",
        [MissingFeature] = "a model feature is absent",
        [ExtraFeature] = "an unknown numeric feature (when extra features are rejected)",
        [WrongType] = "a numeric model feature sent as a string",
        [NullValue] = "a model feature is null (missing-value policy Reject)",
        [NonFinite] = "a model feature is NaN or infinite (missing-value policy Reject)",
        [OutOfRange] = "a value does not fit a float32 input",
        [InferenceFailed] = "ONNX Runtime failed on the batch",
        [PredictionDuplicate] = "a second prediction for one event id",
        [LabelDuplicate] = "a second label for one event id",
        [LabelExpired] = "the label came after its prediction expired",
        [LabelErrorPrediction] = "the label's prediction failed",
        [LabelUnknownPrediction] = "no prediction for the label within the horizon",
        [ProjectionRejected] = "a point InfluxDB line protocol cannot carry",
        [Late] = "event time past its window's close (late-events topic)",
        [PartialMalformed] = "an internal window partial does not parse",
        [PartialUnmergeable] = "a window partial of a kind or model the merge is not configured for",
        [PartialExpired] = "a window partial after its window was dropped",
    };
}
