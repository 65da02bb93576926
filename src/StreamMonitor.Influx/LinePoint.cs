using System.Globalization;
using System.Text;

namespace StreamMonitor.Influx;

/// <summary>
/// One InfluxDB point in line protocol: measurement, tags (rendered sorted by key, as InfluxDB recommends), fields
/// and an explicit nanosecond timestamp. Names and values are validated when added, so a point that cannot be written
/// exactly fails at the caller, not later in the writer's batch.
/// </summary>
/// <remarks>
/// InfluxDB 1.x unescapes only <c>\,</c>, <c>\=</c>, <c>\ </c> (and <c>\"</c> in field keys) in names; a backslash
/// anywhere else is literal and <c>\\</c> is not an escape. So a name with a backslash before one of those characters
/// or at its end has no exact encoding and is rejected rather than silently altered.
/// </remarks>
public sealed class LinePoint
{
    private readonly string _measurement;
    private readonly List<KeyValuePair<string, string>> _tags = [];
    private readonly List<KeyValuePair<string, string>> _fields = [];
    private long? _timestampNs;

    private LinePoint(string measurement)
    {
        ValidateName(measurement, "Measurement");
        if (measurement[0] == '#')
        {
            throw new LineProtocolException($"Measurement '{measurement}' starts with '#', which line protocol reads as a comment.");
        }

        _measurement = measurement;
    }

    /// <summary>The measurement name.</summary>
    public string MeasurementName => _measurement;

    /// <summary>The timestamp in nanoseconds since the Unix epoch, once set.</summary>
    public long? TimestampNanoseconds => _timestampNs;

    /// <summary>Starts a point of the given measurement.</summary>
    public static LinePoint Measurement(string measurement) => new(measurement);

    /// <summary>Adds a tag; tag values are strings and must not be empty (InfluxDB treats an empty tag as absent).</summary>
    public LinePoint Tag(string key, string value)
    {
        ValidateName(key, "Tag key");
        ValidateName(value, $"Value of tag '{key}'");
        RejectTimeKey(key, "tag");
        if (_tags.Exists(t => t.Key == key))
        {
            throw new LineProtocolException($"Tag '{key}' is set twice on measurement '{_measurement}'.");
        }

        _tags.Add(new(key, value));
        return this;
    }

    /// <summary>Adds a float field; NaN and infinities are rejected (InfluxDB cannot store them).</summary>
    public LinePoint Field(string key, double value)
    {
        if (!double.IsFinite(value))
        {
            throw new LineProtocolException($"Field '{key}' of measurement '{_measurement}' is {value}: InfluxDB stores only finite floats; omit the field instead.");
        }

        return AddField(key, value.ToString("R", CultureInfo.InvariantCulture));
    }

    /// <summary>Adds an integer field.</summary>
    public LinePoint Field(string key, long value) => AddField(key, value.ToString(CultureInfo.InvariantCulture) + "i");

    /// <summary>Adds a boolean field.</summary>
    public LinePoint Field(string key, bool value) => AddField(key, value ? "true" : "false");

    /// <summary>Adds a string field (quoted; double quotes and backslashes escaped).</summary>
    public LinePoint Field(string key, string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        RejectControlCharacters(value, $"String field '{key}'");
        var quoted = new StringBuilder(value.Length + 2).Append('"');
        foreach (var c in value)
        {
            if (c is '"' or '\\')
            {
                quoted.Append('\\');
            }

            quoted.Append(c);
        }

        return AddField(key, quoted.Append('"').ToString());
    }

    /// <summary>Adds a float field when the value is present; a null value is omitted (never written as 0 or NaN).</summary>
    public LinePoint Field(string key, double? value) => value is { } v ? Field(key, v) : this;

    /// <summary>Adds an integer field when the value is present.</summary>
    public LinePoint Field(string key, long? value) => value is { } v ? Field(key, v) : this;

    /// <summary>Adds a boolean field when the value is present.</summary>
    public LinePoint Field(string key, bool? value) => value is { } v ? Field(key, v) : this;

    /// <summary>Sets the timestamp in nanoseconds since the Unix epoch.</summary>
    public LinePoint Timestamp(long unixNanoseconds)
    {
        _timestampNs = unixNanoseconds;
        return this;
    }

    /// <summary>Sets the timestamp from milliseconds since the Unix epoch.</summary>
    public LinePoint TimestampMs(long unixMilliseconds) => Timestamp(checked(unixMilliseconds * 1_000_000));

    /// <summary>Sets the timestamp from a point in time (100 ns resolution).</summary>
    public LinePoint Timestamp(DateTimeOffset time) => Timestamp(checked((time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100));

    /// <summary>Renders the point as one line of line protocol (no trailing newline).</summary>
    /// <exception cref="InvalidOperationException">The point has no field or no timestamp.</exception>
    public string ToLineProtocol()
    {
        var sb = new StringBuilder(64);
        AppendTo(sb);
        return sb.ToString();
    }

    /// <inheritdoc cref="ToLineProtocol"/>
    public void AppendTo(StringBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (_fields.Count == 0)
        {
            throw new InvalidOperationException($"A point of measurement '{_measurement}' needs at least one field.");
        }

        if (_timestampNs is not { } ts)
        {
            // Event time, never the server's clock: a point without a timestamp would not be idempotent on re-write.
            throw new InvalidOperationException($"A point of measurement '{_measurement}' needs an explicit timestamp.");
        }

        AppendEscaped(builder, _measurement);
        if (_tags.Count > 1)
        {
            _tags.Sort(static (a, b) => CompareByCodePoint(a.Key, b.Key));
        }

        foreach (var (key, value) in _tags)
        {
            builder.Append(',');
            AppendEscaped(builder, key);
            builder.Append('=');
            AppendEscaped(builder, value);
        }

        builder.Append(' ');
        for (var i = 0; i < _fields.Count; i++)
        {
            if (i > 0)
            {
                builder.Append(',');
            }

            AppendEscaped(builder, _fields[i].Key);
            builder.Append('=').Append(_fields[i].Value);
        }

        builder.Append(' ').Append(ts.ToString(CultureInfo.InvariantCulture));
    }

    /// <inheritdoc />
    public override string ToString() => _fields.Count > 0 && _timestampNs.HasValue ? ToLineProtocol() : _measurement;

    private LinePoint AddField(string key, string rendered)
    {
        ValidateName(key, "Field key");
        RejectTimeKey(key, "field");
        if (_fields.Exists(f => f.Key == key))
        {
            throw new LineProtocolException($"Field '{key}' is set twice on measurement '{_measurement}'.");
        }

        _fields.Add(new(key, rendered));
        return this;
    }

    private void RejectTimeKey(string key, string kind)
    {
        if (key == "time")
        {
            throw new LineProtocolException($"'time' cannot be a {kind} key of measurement '{_measurement}': InfluxDB reserves it.");
        }
    }

    private static void AppendEscaped(StringBuilder builder, string name)
    {
        foreach (var c in name)
        {
            // Measurements need only ',' and ' ' escaped; '=' is escaped too because 1.x unescapes "\=" there as well.
            if (c is ',' or ' ' or '=')
            {
                builder.Append('\\');
            }

            builder.Append(c);
        }
    }

    private static void ValidateName(string name, string what)
    {
        ArgumentNullException.ThrowIfNull(name, what);
        if (name.Length == 0)
        {
            throw new LineProtocolException($"{what} must not be empty.");
        }

        RejectControlCharacters(name, $"{what} '{name}'");
        for (var i = 0; i < name.Length; i++)
        {
            if (name[i] == '\\' && (i == name.Length - 1 || name[i + 1] is ',' or '=' or ' ' or '"'))
            {
                throw new LineProtocolException(
                    $"{what} '{name}' has a backslash before ',', '=', ' ', '\"' or at its end: InfluxDB 1.x line protocol cannot carry that exactly.");
            }
        }
    }

    private static void RejectControlCharacters(string value, string what)
    {
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (char.IsControl(c))
            {
                var name = c switch { '\n' => "a newline", '\r' => "a carriage return", '\t' => "a tab", _ => $"control character U+{(int)c:X4}" };
                throw new LineProtocolException($"{what} contains {name}; line protocol cannot carry control characters.");
            }

            if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(c))
            {
                throw new LineProtocolException($"{what} contains an unpaired UTF-16 surrogate at index {i}; it has no UTF-8 encoding.");
            }
        }
    }

    /// <summary>Orders by Unicode code point, which equals InfluxDB's byte order of the UTF-8 encoding.</summary>
    private static int CompareByCodePoint(string a, string b)
    {
        var ea = a.EnumerateRunes();
        var eb = b.EnumerateRunes();
        while (true)
        {
            var hasA = ea.MoveNext();
            var hasB = eb.MoveNext();
            if (!hasA || !hasB)
            {
                return hasA.CompareTo(hasB);
            }

            var c = ea.Current.Value.CompareTo(eb.Current.Value);
            if (c != 0)
            {
                return c;
            }
        }
    }
}
