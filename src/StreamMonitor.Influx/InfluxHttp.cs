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

    public static void Authorize(HttpRequestMessage request, InfluxOptions options)
    {
        if (!string.IsNullOrEmpty(options.Username))
        {
            var token = Convert.ToBase64String(Encoding.UTF8.GetBytes(options.Username + ":" + options.Password));
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", token);
        }
    }

    public static HttpClient CreateOwnedClient() => new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
    {
        // Per-attempt timeouts are applied by the caller; the client's own limit only backs them up.
        Timeout = Timeout.InfiniteTimeSpan,
    };

    public static string Truncate(string text, int max = 500) => text.Length <= max ? text : string.Concat(text.AsSpan(0, max), "...");
}
