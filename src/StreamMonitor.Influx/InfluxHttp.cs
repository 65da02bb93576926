using System.Net.Http.Headers;
using System.Text;

namespace StreamMonitor.Influx;

/// <summary>URL and authentication details shared by the writer and the query client.</summary>
internal static class InfluxHttp
{
    public static Uri BaseUri(InfluxOptions options) =>
        new(options.Url.EndsWith('/') ? options.Url : options.Url + "/", UriKind.Absolute);

    public static Uri Endpoint(InfluxOptions options, string path, string query) =>
        new(BaseUri(options), path + "?" + query);

    public static string DatabaseQuery(InfluxOptions options, string database)
    {
        var query = "db=" + Uri.EscapeDataString(database);
        if (!string.IsNullOrEmpty(options.RetentionPolicy))
        {
            query += "&rp=" + Uri.EscapeDataString(options.RetentionPolicy);
        }

        return query;
    }

    /// <summary>
    /// Basic authentication from Username/Password, or else from the URL's user-info (http://user:password@host:8086),
    /// which HttpClient itself never sends.
    /// </summary>
    public static void Authorize(HttpRequestMessage request, InfluxOptions options)
    {
        var credentials = !string.IsNullOrEmpty(options.Username)
            ? options.Username + ":" + options.Password
            : Uri.TryCreate(options.Url, UriKind.Absolute, out var uri) && uri.UserInfo.Length > 0
                ? UserInfoCredentials(uri.UserInfo)
                : null;
        if (credentials is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(credentials)));
        }
    }

    private static string UserInfoCredentials(string userInfo)
    {
        // Split before unescaping: an escaped ':' (%3A) belongs to the user name or password.
        var colon = userInfo.IndexOf(':', StringComparison.Ordinal);
        return colon < 0
            ? Uri.UnescapeDataString(userInfo) + ":"
            : Uri.UnescapeDataString(userInfo[..colon]) + ":" + Uri.UnescapeDataString(userInfo[(colon + 1)..]);
    }

    public static HttpClient CreateOwnedClient() => new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
    {
        // Per-attempt timeouts are applied by the caller; the client's own limit only backs them up.
        Timeout = Timeout.InfiniteTimeSpan,
    };

    /// <summary>An exception's type and message for a log line or a problem report, scrubbed of the URL's secrets.</summary>
    public static string Describe(Exception error, InfluxOptions options)
    {
        var messages = new List<string>();
        for (var e = error; e is not null && messages.Count < 3; e = e.InnerException)
        {
            messages.Add($"{e.GetType().Name}: {e.Message}");
        }

        return UrlRedaction.Scrub(string.Join(" --> ", messages), options.Url);
    }

    public static string Truncate(string text, int max = 500) => text.Length <= max ? text : string.Concat(text.AsSpan(0, max), "...");
}
