using System.Globalization;
using System.Text;
using System.Text.Json;
using StreamMonitor.Contracts.Validation;

namespace StreamMonitor.Contracts;

/// <summary>
/// The JSON shape of the two events teams produce themselves, <see cref="FeatureEvent"/> and <see cref="Label"/>
/// (schemas/feature-event.schema.json, schemas/label.schema.json): one UTF-8 JSON object per record whose members are
/// the Avro schema's fields, with the same names and types, so a team can start with <c>json.dumps</c>. A record is
/// JSON when its first byte other than JSON whitespace is <c>{</c>; Avro single-object encoding starts with C3 01, so
/// the two never overlap. The reading is strict, because a lenient reader would turn a producer's mistake into a
/// silently wrong event: required members (the Avro fields without a default) must be present, unknown members and
/// duplicate members or map keys are refused, event times must be integers (ms), numbers must fit a double, and
/// NaN/Infinity (not JSON) are refused by the parser. Every problem is an <see cref="EventDecodeException"/> with
/// <see cref="DecodeError.Json"/> and a message naming the member and the byte position; nothing else is thrown.
/// Validation (identifiers, event time) is the record policy's, the same as for Avro records.
/// </summary>
public static class EventJson
{
    /// <summary>
    /// Deepest nesting read: the record, a map (features, categorical) and one level more, so a wrongly nested value
    /// is reported by member name instead of as a depth error.
    /// </summary>
    public const int MaxDepth = 3;

    /// <summary>Members of a JSON FeatureEvent that must be present (the Avro fields without a default).</summary>
    public static IReadOnlyList<string> FeatureEventRequired { get; } = ["event_id", "model_name", "entity_id", "event_time_ms", "features"];

    /// <summary>Members of a JSON Label that must be present (the Avro fields without a default).</summary>
    public static IReadOnlyList<string> LabelRequired { get; } = ["event_id", "label", "label_time_ms"];

    private static readonly JsonReaderOptions Options = new() { MaxDepth = MaxDepth };

    /// <summary>Whether the record is JSON: its first byte other than JSON whitespace is '{'.</summary>
    public static bool IsJson(ReadOnlySpan<byte> data)
    {
        foreach (var b in data)
        {
            if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n'))
            {
                return b == (byte)'{';
            }
        }

        return false;
    }

    /// <summary>Reads a JSON FeatureEvent; throws <see cref="EventDecodeException"/> (<see cref="DecodeError.Json"/>) on any problem.</summary>
    public static FeatureEvent ReadFeatureEvent(ReadOnlySpan<byte> json) => Parse(json, nameof(FeatureEvent), static (ref Utf8JsonReader reader) =>
    {
        var featureEvent = new FeatureEvent();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (NextMember(ref reader, seen) is { } member)
        {
            switch (member)
            {
                case "event_id": featureEvent.EventId = RequiredString(ref reader, member); break;
                case "model_name": featureEvent.ModelName = RequiredString(ref reader, member); break;
                case "entity_id": featureEvent.EntityId = RequiredString(ref reader, member); break;
                case "event_time_ms": featureEvent.EventTimeMs = Integer(ref reader, member); break;
                case "features": ReadMap(ref reader, member, featureEvent.Features, NullableDouble); break;
                case "categorical": ReadMap(ref reader, member, featureEvent.Categorical, NullableString); break;
                default: throw Unknown(ref reader, member, "event_id, model_name, entity_id, event_time_ms, features, categorical");
            }
        }

        CheckRequired(seen, FeatureEventRequired);
        return featureEvent;
    });

    /// <summary>Reads a JSON Label; throws <see cref="EventDecodeException"/> (<see cref="DecodeError.Json"/>) on any problem.</summary>
    public static Label ReadLabel(ReadOnlySpan<byte> json) => Parse(json, nameof(Label), static (ref Utf8JsonReader reader) =>
    {
        var label = new Label();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (NextMember(ref reader, seen) is { } member)
        {
            switch (member)
            {
                case "event_id": label.EventId = RequiredString(ref reader, member); break;
                case "model_name": label.ModelName = NullableString(ref reader, member); break;
                case "label": label.Value = Double(ref reader, member); break;
                case "label_time_ms": label.LabelTimeMs = Integer(ref reader, member); break;
                default: throw Unknown(ref reader, member, "event_id, model_name, label, label_time_ms");
            }
        }

        CheckRequired(seen, LabelRequired);
        return label;
    });

    /// <summary>
    /// Reads a JSON record as <typeparamref name="T"/>: a FeatureEvent or a Label. Other events have no JSON shape,
    /// so a JSON object where one of them is expected is <see cref="DecodeError.BadMarker"/>, as any other bytes
    /// without the Avro marker.
    /// </summary>
    internal static T Read<T>(ReadOnlySpan<byte> json)
        where T : class
    {
        if (typeof(T) == typeof(FeatureEvent))
        {
            return (T)(object)ReadFeatureEvent(json);
        }

        if (typeof(T) == typeof(Label))
        {
            return (T)(object)ReadLabel(json);
        }

        throw new EventDecodeException(DecodeError.BadMarker,
            $"Expected marker C3 01, found a JSON object: only FeatureEvent and Label are accepted as JSON, a {typeof(T).Name} must be Avro single-object encoding.");
    }

    private delegate T MemberReader<out T>(ref Utf8JsonReader reader);

    private delegate T ValueReader<out T>(ref Utf8JsonReader reader, string member);

    private static T Parse<T>(ReadOnlySpan<byte> json, string type, MemberReader<T> body)
    {
        var reader = new Utf8JsonReader(json, Options);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw Problem(ref reader, "the record is not a JSON object.");
            }

            var value = body(ref reader);
            // Anything after the object other than whitespace makes the parser throw here.
            reader.Read();
            return value;
        }
        catch (EventDecodeException ex)
        {
            throw new EventDecodeException(DecodeError.Json, $"JSON {type}: {ex.Message}");
        }
        catch (JsonException ex)
        {
            var hint = json.IndexOf("NaN"u8) >= 0 || json.IndexOf("Infinity"u8) >= 0
                ? " NaN and Infinity are not JSON: send null for a missing feature (Python: json.dumps(..., allow_nan=False) finds them)."
                : "";
            throw new EventDecodeException(DecodeError.Json, $"JSON {type}: not valid JSON: {ex.Message}{hint}", ex);
        }
        catch (InvalidOperationException ex)
        {
            // Utf8JsonReader.GetString refuses invalid UTF-8 and unpaired \u surrogate escapes, which Avro's strict UTF-8 refuses too.
            throw new EventDecodeException(DecodeError.Json,
                $"JSON {type}: a string near byte {reader.TokenStartIndex} is not valid UTF-8 or holds an unpaired surrogate escape ({ex.Message})", ex);
        }
    }

    /// <summary>The next member name of the record, or null at its end; refuses a member seen before.</summary>
    private static string? NextMember(ref Utf8JsonReader reader, HashSet<string> seen)
    {
        reader.Read();
        if (reader.TokenType == JsonTokenType.EndObject)
        {
            return null;
        }

        var member = reader.GetString()!;
        if (!seen.Add(member))
        {
            throw Problem(ref reader, $"member '{Identifiers.Printable(member)}' appears twice.");
        }

        reader.Read();
        return member;
    }

    private static void ReadMap<T>(ref Utf8JsonReader reader, string member, Dictionary<string, T> map, ValueReader<T> value)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw Problem(ref reader, $"{member} must be an object of name: value, found {Describe(reader.TokenType)}.");
        }

        for (reader.Read(); reader.TokenType != JsonTokenType.EndObject; reader.Read())
        {
            var key = reader.GetString()!;
            var path = $"{member}.{Identifiers.Printable(key)}";
            reader.Read();
            if (!map.TryAdd(key, value(ref reader, path)))
            {
                throw Problem(ref reader, $"{member} has the key '{Identifiers.Printable(key)}' twice.");
            }
        }
    }

    private static string RequiredString(ref Utf8JsonReader reader, string member) =>
        reader.TokenType == JsonTokenType.String ? reader.GetString()! : throw Problem(ref reader, $"{member} must be a string, found {Describe(reader.TokenType)}.");

    private static string? NullableString(ref Utf8JsonReader reader, string member) => reader.TokenType switch
    {
        JsonTokenType.Null => null,
        JsonTokenType.String => reader.GetString(),
        _ => throw Problem(ref reader, $"{member} must be a string or null, found {Describe(reader.TokenType)}."),
    };

    private static double? NullableDouble(ref Utf8JsonReader reader, string member) =>
        reader.TokenType == JsonTokenType.Null ? null : Double(ref reader, member);

    private static double Double(ref Utf8JsonReader reader, string member)
    {
        if (reader.TokenType != JsonTokenType.Number)
        {
            var hint = reader.TokenType == JsonTokenType.String ? " (numbers are not quoted; a missing feature is null)" : "";
            throw Problem(ref reader, $"{member} must be a number, found {Describe(reader.TokenType)}{hint}.");
        }

        // The parser reads 1e400 as infinity; a double cannot hold it, and Avro would never carry it from a JSON source.
        return reader.TryGetDouble(out var value) && double.IsFinite(value)
            ? value
            : throw Problem(ref reader, $"{member} {Raw(ref reader)} does not fit a double.");
    }

    private static long Integer(ref Utf8JsonReader reader, string member)
    {
        if (reader.TokenType != JsonTokenType.Number)
        {
            throw Problem(ref reader, $"{member} must be an integer (ms since the epoch), found {Describe(reader.TokenType)}.");
        }

        if (reader.TryGetInt64(out var value))
        {
            return value;
        }

        var raw = Raw(ref reader);
        throw Problem(ref reader, raw.AsSpan().IndexOfAny(".eE") >= 0
            ? $"{member} {raw} is not an integer (ms since the epoch, without fraction or exponent)."
            : $"{member} {raw} does not fit a 64-bit integer.");
    }

    private static void CheckRequired(HashSet<string> seen, IReadOnlyList<string> required)
    {
        foreach (var member in required)
        {
            if (!seen.Contains(member))
            {
                throw new EventDecodeException(DecodeError.Json, $"the required member {member} is missing.");
            }
        }
    }

    private static EventDecodeException Unknown(ref Utf8JsonReader reader, string member, string known) =>
        Problem(ref reader, $"unknown member '{Identifiers.Printable(member)}' (members: {known}).");

    private static EventDecodeException Problem(ref Utf8JsonReader reader, string detail) =>
        new(DecodeError.Json, string.Create(CultureInfo.InvariantCulture, $"{detail} (at byte {reader.TokenStartIndex})"));

    /// <summary>A number's text as sent, cut at 32 bytes (numbers hold no escapes, so the span is the text).</summary>
    private static string Raw(ref Utf8JsonReader reader)
    {
        var span = reader.ValueSpan;
        return span.Length <= 32 ? Encoding.ASCII.GetString(span) : Encoding.ASCII.GetString(span[..32]) + "…";
    }

    private static string Describe(JsonTokenType token) => token switch
    {
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        _ => token.ToString(),
    };
}
