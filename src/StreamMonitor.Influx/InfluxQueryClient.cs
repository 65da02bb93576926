using System.Text.Json;
using StreamMonitor.Contracts;

namespace StreamMonitor.Influx;

/// <summary>
/// InfluxQL over the 1.x <c>/query</c> API with millisecond epochs, returning typed series. Every statement is sent as
/// a form-encoded POST, which InfluxDB accepts for reads and requires for writes such as CREATE DATABASE.
/// </summary>
public sealed class InfluxQueryClient : IDisposable
{
    private readonly InfluxOptions _options;
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;

    /// <summary>Creates a client.</summary>
    /// <param name="options">Connection settings; queries go to <see cref="InfluxOptions.Database"/>.</param>
    /// <param name="httpClient">Client to send with (e.g. from IHttpClientFactory); a private one when null.</param>
    public InfluxQueryClient(InfluxOptions options, HttpClient? httpClient = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _ownsHttp = httpClient is null;
        _http = httpClient ?? InfluxHttp.CreateOwnedClient();
    }

    /// <summary>Runs InfluxQL against the configured database and returns the series of every statement, in order.</summary>
    /// <exception cref="InfluxQueryException">HTTP error or a statement error.</exception>
    public async Task<IReadOnlyList<InfluxSeries>> QueryAsync(string influxQl, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(influxQl);
        using var response = await SendAsync(influxQl, InfluxHttp.DatabaseQuery(_options, _options.Database) + "&epoch=ms", cancellationToken);
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        using var json = await JsonDocument.ParseAsync(stream, cancellationToken: cancellationToken);
        return Parse(json.RootElement, influxQl);
    }

    /// <summary>Creates a database (no-op when it exists).</summary>
    public async Task CreateDatabaseAsync(string? database = null, CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync("CREATE DATABASE " + InfluxQl.Identifier(database ?? _options.Database), "", cancellationToken);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        Parse(json.RootElement, "CREATE DATABASE");
    }

    /// <summary>Drops a database and its data.</summary>
    public async Task DropDatabaseAsync(string? database = null, CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync("DROP DATABASE " + InfluxQl.Identifier(database ?? _options.Database), "", cancellationToken);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        Parse(json.RootElement, "DROP DATABASE");
    }

    /// <summary>True when /ping answers 204.</summary>
    public async Task<bool> PingAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            using var response = await _http.GetAsync(new Uri(InfluxHttp.BaseUri(_options), "ping"), cancellationToken);
            return response.StatusCode == System.Net.HttpStatusCode.NoContent;
        }
        catch (Exception ex) when (HttpFailures.IsTransport(ex))
        {
            return false;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_ownsHttp)
        {
            _http.Dispose();
        }
    }

    private async Task<HttpResponseMessage> SendAsync(string influxQl, string query, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, InfluxHttp.Endpoint(_options, "query", query))
        {
            Content = new FormUrlEncodedContent([new("q", influxQl)]),
        };
        InfluxHttp.Authorize(request, _options);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.RequestTimeout);
        var response = await _http.SendAsync(request, timeout.Token);
        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            response.Dispose();
            throw new InfluxQueryException($"InfluxDB {UrlRedaction.Redact(_options.Url)} answered HTTP {(int)response.StatusCode} to '{InfluxHttp.Truncate(influxQl, 200)}': {InfluxHttp.Truncate(body)}");
        }

        return response;
    }

    private static List<InfluxSeries> Parse(JsonElement root, string influxQl)
    {
        if (root.TryGetProperty("error", out var topError))
        {
            throw new InfluxQueryException($"'{InfluxHttp.Truncate(influxQl, 200)}' failed: {topError.GetString()}");
        }

        var series = new List<InfluxSeries>();
        if (!root.TryGetProperty("results", out var results))
        {
            return series;
        }

        foreach (var result in results.EnumerateArray())
        {
            if (result.TryGetProperty("error", out var error))
            {
                throw new InfluxQueryException($"'{InfluxHttp.Truncate(influxQl, 200)}' failed: {error.GetString()}");
            }

            if (!result.TryGetProperty("series", out var list))
            {
                continue;
            }

            foreach (var s in list.EnumerateArray())
            {
                series.Add(ParseSeries(s));
            }
        }

        return series;
    }

    private static InfluxSeries ParseSeries(JsonElement s)
    {
        var name = s.TryGetProperty("name", out var n) ? n.GetString() ?? "" : "";
        var tags = new Dictionary<string, string>(StringComparer.Ordinal);
        if (s.TryGetProperty("tags", out var t) && t.ValueKind == JsonValueKind.Object)
        {
            foreach (var p in t.EnumerateObject())
            {
                tags[p.Name] = p.Value.GetString() ?? "";
            }
        }

        var columns = s.TryGetProperty("columns", out var c) ? c.EnumerateArray().Select(x => x.GetString() ?? "").ToArray() : [];
        var rows = new List<IReadOnlyList<object?>>();
        if (s.TryGetProperty("values", out var values))
        {
            foreach (var row in values.EnumerateArray())
            {
                rows.Add(row.EnumerateArray().Select(ToValue).ToArray());
            }
        }

        return new InfluxSeries(name, tags, columns, rows);
    }

    private static object? ToValue(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.Null or JsonValueKind.Undefined => null,
        JsonValueKind.String => v.GetString(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.Number when v.TryGetInt64(out var l) => l,
        JsonValueKind.Number => v.GetDouble(),
        _ => v.GetRawText(),
    };
}
