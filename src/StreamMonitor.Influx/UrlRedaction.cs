using System.Security.Cryptography;
using System.Text;

namespace StreamMonitor.Influx;

/// <summary>
/// The one way a configured URL is written to a log or an exception message. URLs carry secrets in two places: the
/// user-info (<c>http://user:password@influx:8086</c>) and the path or query (a Slack-style webhook's path is its
/// secret). Redacted, a URL keeps its scheme, host and port, which is what an operator needs to tell endpoints apart,
/// and replaces the path and query with the first 8 hex digits of their SHA-256, enough to see that two log lines
/// name the same endpoint (or that a configuration change took effect) and useless for guessing the secret.
/// </summary>
/// <remarks>
/// Lives in the InfluxDB client because it is the lowest assembly that logs URLs; the hosting layer and every service
/// reference it.
/// </remarks>
public static class UrlRedaction
{
    /// <summary>Shown in place of a value that is not an absolute URL (it cannot be redacted part by part).</summary>
    public const string Unparsable = "<URL not shown: not an absolute URL>";

    /// <summary>
    /// <paramref name="url"/> without user-info, its path and query replaced by a short hash:
    /// <c>https://hooks.example.com/&lt;redacted:1a2b3c4d&gt;</c>; a URL with no path and no query keeps its "/".
    /// </summary>
    public static string Redact(string? url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) ? Redact(uri) : Unparsable;

    /// <inheritdoc cref="Redact(string?)"/>
    public static string Redact(Uri url)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (!url.IsAbsoluteUri)
        {
            return Unparsable;
        }

        var authority = url.GetComponents(UriComponents.SchemeAndServer | UriComponents.Port, UriFormat.UriEscaped);
        var pathAndQuery = url.GetComponents(UriComponents.PathAndQuery, UriFormat.UriEscaped);
        return pathAndQuery is "" or "/" ? authority + "/" : $"{authority}/<redacted:{ShortHash(pathAndQuery)}>";
    }

    /// <summary>
    /// <paramref name="text"/> (typically an exception message) with every secret part of <paramref name="url"/>
    /// replaced: the whole URL as configured and as .NET prints it by its redacted form, then any remaining user-info,
    /// password or path (escaped or not) by "&lt;redacted&gt;".
    /// </summary>
    public static string Scrub(string text, string? url)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (string.IsNullOrEmpty(url) || text.Length == 0)
        {
            return text;
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            return text.Replace(url, Unparsable, StringComparison.Ordinal);
        }

        var redacted = Redact(uri);
        var scrubbed = new StringBuilder(text)
            .Replace(url, redacted)
            .Replace(uri.OriginalString, redacted)
            .Replace(uri.AbsoluteUri, redacted);
        foreach (var secret in Secrets(uri))
        {
            scrubbed.Replace(secret, "<redacted>");
        }

        return scrubbed.ToString();
    }

    private static IEnumerable<string> Secrets(Uri uri)
    {
        var parts = new List<string>();
        if (uri.UserInfo.Length > 0)
        {
            parts.Add(uri.UserInfo);
            parts.Add(Uri.UnescapeDataString(uri.UserInfo));
            var colon = uri.UserInfo.IndexOf(':', StringComparison.Ordinal);
            if (colon >= 0 && colon < uri.UserInfo.Length - 1)
            {
                parts.Add(uri.UserInfo[(colon + 1)..]);
                parts.Add(Uri.UnescapeDataString(uri.UserInfo[(colon + 1)..]));
            }
        }

        var pathAndQuery = uri.PathAndQuery;
        if (pathAndQuery is not ("" or "/"))
        {
            parts.Add(pathAndQuery);
            parts.Add(Uri.UnescapeDataString(pathAndQuery));
            var path = uri.AbsolutePath;
            if (path is not ("" or "/"))
            {
                parts.Add(path);
            }
        }

        // Longest first, so a part is never left half-replaced by a shorter one it contains.
        return parts.Where(p => p.Length > 1).Distinct(StringComparer.Ordinal).OrderByDescending(p => p.Length);
    }

    private static string ShortHash(string value) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)))[..8];
}
