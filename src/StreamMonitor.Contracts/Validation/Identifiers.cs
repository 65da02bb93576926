namespace StreamMonitor.Contracts.Validation;

/// <summary>
/// The rule for every identifier a user sends (model name, version, entity id, event id): valid UTF-8 (the decoder
/// refuses invalid sequences), no control characters, at most <see cref="MaxLength"/> UTF-16 code units, non-empty
/// where required. An identifier becomes a Kafka key, an InfluxDB tag and a file or metric label, so anything outside
/// this rule is refused at the source rather than escaped at every sink.
/// </summary>
public static class Identifiers
{
    /// <summary>Longest identifier accepted, in UTF-16 code units.</summary>
    public const int MaxLength = 256;

    /// <summary>Model name and version bucket of ERROR predictions whose model is not served (or whose name is invalid).</summary>
    public const string UnknownModelBucket = "_unknown";

    /// <summary>Returns null when <paramref name="value"/> is a valid identifier, else the rejection naming <paramref name="field"/>.</summary>
    public static Rejection? Check(string field, string? value, bool required = true)
    {
        if (string.IsNullOrEmpty(value))
        {
            return required ? new Rejection(ReasonCodes.InvalidIdentifier, $"{field} is empty.") : null;
        }

        if (value.Length > MaxLength)
        {
            return new Rejection(ReasonCodes.InvalidIdentifier, $"{field} has {value.Length} characters, more than {MaxLength}.");
        }

        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (char.IsControl(c) || c == '\u2028' || c == '\u2029')
            {
                return new Rejection(ReasonCodes.InvalidIdentifier, $"{field} holds control character U+{(int)c:X4} at {i}.");
            }

            // Lone surrogates cannot come from a strict UTF-8 decode, but an in-process caller could build one.
            if (char.IsSurrogate(c) && !(char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[++i])))
            {
                return new Rejection(ReasonCodes.InvalidIdentifier, $"{field} holds an unpaired surrogate at {i}.");
            }
        }

        return null;
    }

    /// <summary>Whether <paramref name="value"/> is a valid, non-empty identifier.</summary>
    public static bool IsValid(string? value) => Check("identifier", value) is null;

    /// <summary>Separates model name and version in window keys ("model|version", "latency|model|version|start|size").</summary>
    public const char KeySeparator = '|';

    /// <summary><see cref="KeySeparator"/> as a string, for concatenation without boxing.</summary>
    public const string KeySeparatorText = "|";

    /// <summary>
    /// The rule for a model name or version: an identifier without <see cref="KeySeparator"/>, which would make the
    /// window keys built from it ambiguous. Null when valid, else the rejection naming <paramref name="field"/>.
    /// </summary>
    public static Rejection? CheckModel(string field, string? value, bool required = true) =>
        Check(field, value, required)
        ?? (value is not null && value.Contains(KeySeparator, StringComparison.Ordinal)
            ? new Rejection(ReasonCodes.InvalidIdentifier, $"{field} '{Printable(value)}' contains '{KeySeparator}', the window-key separator.")
            : null);

    /// <summary>Whether <paramref name="value"/> is a valid, non-empty model name or version.</summary>
    public static bool IsValidModel(string? value) => CheckModel("model", value) is null;

    /// <summary>A short, printable form of a hostile string for logs and dead-letter details (escaped, cut at 64).</summary>
    public static string Printable(string? value)
    {
        if (value is null)
        {
            return "(null)";
        }

        var builder = new System.Text.StringBuilder(Math.Min(value.Length, 64) + 8);
        foreach (var c in value)
        {
            if (builder.Length >= 64)
            {
                builder.Append('…');
                break;
            }

            if (char.IsControl(c) || char.IsSurrogate(c))
            {
                builder.Append(System.Globalization.CultureInfo.InvariantCulture, $"\\u{(int)c:X4}");
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }
}
