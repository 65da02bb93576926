namespace StreamMonitor.Contracts;

/// <summary>Why bytes could not be decoded as an event. Codes are stable: they become dead-letter reason codes.</summary>
public enum DecodeError
{
    /// <summary>Fewer bytes than the 10-byte single-object header.</summary>
    Truncated,
    /// <summary>The first two bytes are not the C3 01 marker of Avro single-object encoding.</summary>
    BadMarker,
    /// <summary>No known writer schema has the fingerprint in the header.</summary>
    UnknownFingerprint,
    /// <summary>The writer schema is a different record than the one requested, or cannot be resolved against it.</summary>
    SchemaMismatch,
    /// <summary>The body does not decode with the writer schema (cut short, bad lengths, trailing bytes).</summary>
    CorruptBody,
    /// <summary>Confluent Schema Registry's wire format (magic byte 0, 4-byte schema id), not single-object encoding.</summary>
    ConfluentFraming,
    /// <summary>A JSON record (first non-whitespace byte '{') that is not a valid JSON FeatureEvent or Label (<see cref="EventJson"/>).</summary>
    Json,
}

/// <summary>Bytes that are not a valid single-object-encoded (or, for FeatureEvent and Label, JSON) event of the requested type.</summary>
public sealed class EventDecodeException : Exception
{
    /// <summary>Creates the exception.</summary>
    public EventDecodeException(DecodeError error, string message, Exception? inner = null)
        : base(message, inner) => Error = error;

    /// <summary>Creates the exception with a generic message.</summary>
    public EventDecodeException()
        : this(DecodeError.CorruptBody, "The bytes are not a valid event.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public EventDecodeException(string message)
        : this(DecodeError.CorruptBody, message)
    {
    }

    /// <summary>Creates the exception with a message and cause.</summary>
    public EventDecodeException(string message, Exception innerException)
        : this(DecodeError.CorruptBody, message, innerException)
    {
    }

    /// <summary>The typed reason.</summary>
    public DecodeError Error { get; }

    /// <summary>Dead-letter reason code, e.g. DECODE_UNKNOWN_FINGERPRINT.</summary>
    public string ReasonCode => Error switch
    {
        DecodeError.Truncated => "DECODE_TRUNCATED",
        DecodeError.BadMarker => "DECODE_BAD_MARKER",
        DecodeError.UnknownFingerprint => "DECODE_UNKNOWN_FINGERPRINT",
        DecodeError.SchemaMismatch => "DECODE_SCHEMA_MISMATCH",
        DecodeError.ConfluentFraming => "DECODE_CONFLUENT_FRAMING",
        DecodeError.Json => "DECODE_JSON",
        _ => "DECODE_CORRUPT_BODY",
    };
}
