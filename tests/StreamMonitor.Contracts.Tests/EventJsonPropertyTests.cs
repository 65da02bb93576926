using System.Globalization;
using System.Text;
using FsCheck;
using FsCheck.Xunit;
using StreamMonitor.Contracts.Validation;

namespace StreamMonitor.Contracts.Tests;

/// <summary>
/// Property tests of the JSON path: whatever a producer writes after a '{', every entry point answers with a valid
/// event or a listed reason code, never an exception; and a feature event or label sent as JSON gets exactly the
/// outcome of the same event sent as Avro.
/// </summary>
public sealed class EventJsonPropertyTests
{
    private static readonly EventCodec Codec = new();
    private static readonly RecordPolicy Policy = new(Codec);

    private static bool NeverThrows(byte[] bytes)
    {
        bool Listed<T>(Validated<T> v)
            where T : class => v.IsValid || ReasonCodes.All.ContainsKey(v.Rejection!.ReasonCode);
        return Listed(Policy.Features(bytes, 0)) && Listed(Policy.Labels(bytes, null)) && Listed(Policy.Predictions(bytes, null))
               && Listed(Policy.LatencyResults(bytes, null)) && Listed(Policy.QualityResults(bytes, null)) && Listed(Policy.DriftResults(bytes, null));
    }

    [Property(MaxTest = 400)]
    public bool Arbitrary_bytes_after_a_brace_never_throw(byte[] body) =>
        NeverThrows([(byte)'{', .. body ?? []]);

    [Property(MaxTest = 400)]
    public bool Arbitrary_text_after_a_brace_never_throws(string text) =>
        NeverThrows(Encoding.UTF8.GetBytes("{" + text));

    [Property(MaxTest = 400)]
    public bool Mutated_valid_records_never_throw(int position, byte value, int cut, bool label)
    {
        var valid = Encoding.UTF8.GetBytes(label
            ? """{"event_id":"e","model_name":null,"label":1,"label_time_ms":1700000000000}"""
            : """{"event_id":"e","model_name":"m","entity_id":"","event_time_ms":1,"features":{"a":1.5,"b":null},"categorical":{"c":"x"}}""");
        var mutated = (byte[])valid.Clone();
        mutated[1 + (int)((uint)position % (uint)(mutated.Length - 1))] = value;
        var truncated = valid[..(1 + (int)((uint)cut % (uint)(valid.Length - 1)))];
        return NeverThrows(mutated) && NeverThrows(truncated);
    }

    [Property(MaxTest = 200)]
    public bool Deeply_nested_values_never_throw(PositiveInt depth, bool arrays)
    {
        var n = Math.Min(depth.Get, 2000);
        var (open, close) = arrays ? ("[", "]") : ("{\"a\":", "}");
        var json = """{"event_id":"e","model_name":"m","entity_id":"","event_time_ms":1,"features":{"x":""" + string.Concat(Enumerable.Repeat(open, n)) + "1" + string.Concat(Enumerable.Repeat(close, n)) + "}}";
        return Policy.Features(Encoding.UTF8.GetBytes(json), null).Rejection?.ReasonCode == ReasonCodes.DecodeJson;
    }

    [Property(MaxTest = 300)]
    public bool Feature_events_as_json_get_the_outcome_they_get_as_avro(string eventId, string modelName, string entityId, long eventTime, long timestamp, NormalFloat value, string featureName, string category)
    {
        var featureEvent = new FeatureEvent
        {
            EventId = eventId ?? "",
            ModelName = modelName ?? "",
            EntityId = entityId ?? "",
            EventTimeMs = eventTime,
            Features = new() { [featureName ?? "f"] = value.Get, ["missing"] = null },
            Categorical = new() { ["c"] = category },
        };
        var json = Encoding.UTF8.GetBytes(
            $"{{\"event_id\":{Quote(featureEvent.EventId)},\"model_name\":{Quote(featureEvent.ModelName)},\"entity_id\":{Quote(featureEvent.EntityId)}," +
            $"\"event_time_ms\":{eventTime.ToString(CultureInfo.InvariantCulture)}," +
            $"\"features\":{{{string.Join(',', featureEvent.Features.Select(f => $"{Quote(f.Key)}:{Number(f.Value)}"))}}}," +
            $"\"categorical\":{{\"c\":{Quote(category)}}}}}");
        return SameOutcome(Policy.Features(json, timestamp), featureEvent, e => Policy.Features(Codec.Serialize(e), timestamp),
            (a, b) => a.EventId == b.EventId && a.ModelName == b.ModelName && a.EntityId == b.EntityId && a.EventTimeMs == b.EventTimeMs
                      && a.Features.OrderBy(f => f.Key, StringComparer.Ordinal).SequenceEqual(b.Features.OrderBy(f => f.Key, StringComparer.Ordinal))
                      && a.Categorical.SequenceEqual(b.Categorical),
            featureEvent.EventId, featureEvent.ModelName, featureEvent.EntityId, featureName ?? "f", category);
    }

    [Property(MaxTest = 300)]
    public bool Labels_as_json_get_the_outcome_they_get_as_avro(string eventId, string modelName, NormalFloat value, long labelTime, long timestamp)
    {
        var label = new Label { EventId = eventId ?? "", ModelName = modelName, Value = value.Get, LabelTimeMs = labelTime };
        var json = Encoding.UTF8.GetBytes(
            $"{{\"event_id\":{Quote(label.EventId)},\"model_name\":{Quote(modelName)},\"label\":{Number(value.Get)},\"label_time_ms\":{labelTime.ToString(CultureInfo.InvariantCulture)}}}");
        return SameOutcome(Policy.Labels(json, timestamp), label, l => Policy.Labels(Codec.Serialize(l), timestamp),
            (a, b) => a.EventId == b.EventId && a.ModelName == b.ModelName && a.Value.Equals(b.Value) && a.LabelTimeMs == b.LabelTimeMs,
            label.EventId, modelName);
    }

    /// <summary>
    /// Avro cannot carry an unpaired surrogate (its writer substitutes U+FFFD), JSON can write it as an escape: such a
    /// record must be DECODE_JSON. Otherwise the JSON outcome is the Avro outcome, code and event alike.
    /// </summary>
    private static bool SameOutcome<T>(Validated<T> fromJson, T sent, Func<T, Validated<T>> viaAvro, Func<T, T, bool> equal, params string?[] strings)
        where T : class
    {
        if (strings.Any(HasUnpairedSurrogate))
        {
            return fromJson.Rejection?.ReasonCode == ReasonCodes.DecodeJson;
        }

        var fromAvro = viaAvro(sent);
        return fromJson.IsValid == fromAvro.IsValid
               && fromJson.Rejection?.ReasonCode == fromAvro.Rejection?.ReasonCode
               && (!fromJson.IsValid || equal(fromJson.Value!, fromAvro.Value!));
    }

    private static bool HasUnpairedSurrogate(string? s)
    {
        for (var i = 0; s is not null && i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(s[i]))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>A JSON string literal escaping every character outside printable ASCII, so any UTF-16 string (even a lone surrogate) can be written.</summary>
    private static string Quote(string? s)
    {
        if (s is null)
        {
            return "null";
        }

        var builder = new StringBuilder("\"");
        foreach (var c in s)
        {
            if (c is >= ' ' and <= '~' && c is not '"' and not '\\')
            {
                builder.Append(c);
            }
            else
            {
                builder.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
            }
        }

        return builder.Append('"').ToString();
    }

    private static string Number(double? value) => value is { } v ? v.ToString("R", CultureInfo.InvariantCulture) : "null";
}
