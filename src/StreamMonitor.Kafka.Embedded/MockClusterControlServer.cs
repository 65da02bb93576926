using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace StreamMonitor.Kafka.Embedded;

/// <summary>
/// A small loopback HTTP API over a <see cref="MockCluster"/> so that tests in another process can inject faults:
/// GET /cluster; POST /topics; POST /brokers/{id}/down | up | rtt; POST /request-errors; DELETE /request-errors/{apiKey};
/// POST /partition-leader; POST /coordinator. Bodies are JSON (camelCase); see <see cref="MockClusterControlClient"/>.
/// </summary>
public sealed class MockClusterControlServer : IAsyncDisposable
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly MockCluster _cluster;
    private readonly ILogger _logger;
    private readonly HttpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    private MockClusterControlServer(MockCluster cluster, ILogger logger, HttpListener listener, Uri url)
    {
        _cluster = cluster;
        _logger = logger;
        _listener = listener;
        Url = url;
        _loop = Task.Run(ServeAsync);
    }

    /// <summary>Base URL of the API (http://127.0.0.1:port/).</summary>
    public Uri Url { get; }

    /// <summary>Starts the API on a free loopback port.</summary>
    public static MockClusterControlServer Start(MockCluster cluster, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(logger);
        for (var attempt = 0; ; attempt++)
        {
            var port = FreeLoopbackPort();
            var url = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/");
            var listener = new HttpListener();
            listener.Prefixes.Add(url.ToString());
            try
            {
                listener.Start();
                return new MockClusterControlServer(cluster, logger, listener, url);
            }
            catch (HttpListenerException) when (attempt < 20)
            {
                // Another process took the port between probing and binding: try another one.
                listener.Close();
            }
        }
    }

    /// <summary>Stops serving.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
        }

        _listener.Close();
        _stop.Dispose();
    }

    private static int FreeLoopbackPort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private async Task ServeAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync().WaitAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or OperationCanceledException)
            {
                return;
            }

            // One task per request: a client that stalls mid-request must not block the others.
            _ = Task.Run(() => HandleAsync(context));
        }
    }

    private async Task HandleAsync(HttpListenerContext context)
    {
        var request = context.Request;
        var response = context.Response;
        var path = request.Url?.AbsolutePath.Trim('/') ?? "";
        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        try
        {
            object? result = (request.HttpMethod, segments) switch
            {
                ("GET", ["cluster"]) => new MockClusterInfo(_cluster.BootstrapServers, _cluster.BrokerCount),
                ("POST", ["topics"]) => CreateTopics(await ReadAsync<MockTopicRequest[]>(request)),
                ("POST", ["brokers", var id, "down"]) => Do(() => _cluster.SetBrokerDown(ParseInt(id))),
                ("POST", ["brokers", var id, "up"]) => Do(() => _cluster.SetBrokerUp(ParseInt(id))),
                ("POST", ["brokers", var id, "rtt"]) => await SetRttAsync(ParseInt(id), request),
                ("POST", ["request-errors"]) => PushErrors(await ReadAsync<MockRequestErrorsRequest>(request)),
                ("DELETE", ["request-errors", var key]) => Do(() => _cluster.ClearRequestErrors((KafkaApiKey)short.Parse(key, CultureInfo.InvariantCulture))),
                ("POST", ["partition-leader"]) => SetLeader(await ReadAsync<MockPartitionLeaderRequest>(request)),
                ("POST", ["coordinator"]) => SetCoordinator(await ReadAsync<MockCoordinatorRequest>(request)),
                _ => throw new KeyNotFoundException($"No control endpoint {request.HttpMethod} /{path}."),
            };
            _logger.LogInformation("Mock cluster control {Method} /{Path} done", request.HttpMethod, path);
            await WriteAsync(response, HttpStatusCode.OK, result);
        }
        catch (KeyNotFoundException ex)
        {
            await WriteAsync(response, HttpStatusCode.NotFound, new MockControlError(ex.Message));
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or JsonException or OverflowException)
        {
            await WriteAsync(response, HttpStatusCode.BadRequest, new MockControlError(ex.Message));
        }
        catch (OperationCanceledException)
        {
            return;
        }
        catch (KafkaException ex)
        {
            _logger.LogWarning("Mock cluster control {Method} /{Path} failed: {Error}", request.HttpMethod, path, ex.Message);
            await WriteAsync(response, HttpStatusCode.Conflict, new MockControlError(ex.Message));
        }
    }

    private MockTopicsCreated CreateTopics(MockTopicRequest[] topics)
    {
        var created = new List<string>();
        foreach (var topic in topics)
        {
            if (_cluster.CreateTopic(topic.Name, topic.Partitions, topic.ReplicationFactor))
            {
                created.Add(topic.Name);
            }
        }

        return new MockTopicsCreated(created);
    }

    private async Task<object?> SetRttAsync(int brokerId, HttpListenerRequest request)
    {
        var body = await ReadAsync<MockRttRequest>(request);
        _cluster.SetBrokerRtt(brokerId, body.RttMs);
        return null;
    }

    private object? PushErrors(MockRequestErrorsRequest body)
    {
        _cluster.PushRequestErrors((KafkaApiKey)body.ApiKey, body.Errors.Select(e => (ErrorCode)e).ToArray());
        return null;
    }

    private object? SetLeader(MockPartitionLeaderRequest body)
    {
        _cluster.SetPartitionLeader(body.Topic, body.Partition, body.BrokerId);
        return null;
    }

    private object? SetCoordinator(MockCoordinatorRequest body)
    {
        _cluster.SetCoordinator(body.KeyType, body.Key, body.BrokerId);
        return null;
    }

    private static object? Do(Action action)
    {
        action();
        return null;
    }

    private static int ParseInt(string value) => int.Parse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);

    private async Task<T> ReadAsync<T>(HttpListenerRequest request)
    {
        var value = await JsonSerializer.DeserializeAsync<T>(request.InputStream, Json, _stop.Token);
        return value ?? throw new ArgumentException($"Request body must be a JSON {typeof(T).Name}.");
    }

    private async Task WriteAsync(HttpListenerResponse response, HttpStatusCode status, object? body)
    {
        try
        {
            response.StatusCode = (int)status;
            response.ContentType = "application/json";
            var bytes = body is null ? "{}"u8.ToArray() : JsonSerializer.SerializeToUtf8Bytes(body, body.GetType(), Json);
            response.ContentLength64 = bytes.Length;
            await response.OutputStream.WriteAsync(bytes, _stop.Token);
        }
        catch (Exception ex) when (ex is HttpListenerException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            // The client went away or the server is stopping; nothing to report to it.
            _logger.LogDebug(ex, "Control response not delivered");
        }
        finally
        {
            try
            {
                response.Close();
            }
            catch (ObjectDisposedException)
            {
                // Already closed by the listener while stopping.
            }
        }
    }
}
