using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Confluent.Kafka;

namespace StreamMonitor.Kafka.Embedded;

/// <summary>
/// Typed client of <see cref="MockClusterControlServer"/>: creates topics and injects faults into a mock cluster running
/// in another process (`streammon kafka up --control-url-file ...`). Broker ids are 1..N; -1 means every broker.
/// </summary>
public sealed class MockClusterControlClient : IDisposable
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly HttpClient _http;

    /// <summary>Creates a client for the API at <paramref name="baseUrl"/>.</summary>
    public MockClusterControlClient(Uri baseUrl)
    {
        ArgumentNullException.ThrowIfNull(baseUrl);
        _http = new HttpClient { BaseAddress = baseUrl, Timeout = TimeSpan.FromSeconds(30) };
    }

    /// <summary>Bootstrap servers and broker count.</summary>
    public async Task<MockClusterInfo> GetClusterAsync(CancellationToken cancellationToken = default)
    {
        using var response = await _http.GetAsync(new Uri("cluster", UriKind.Relative), cancellationToken);
        await EnsureOkAsync(response, cancellationToken);
        return await response.Content.ReadFromJsonAsync<MockClusterInfo>(Json, cancellationToken)
            ?? throw new InvalidOperationException("The control API returned no cluster description.");
    }

    /// <summary>Creates topics (existing ones are left alone); returns the names actually created.</summary>
    public async Task<IReadOnlyList<string>> CreateTopicsAsync(IEnumerable<TopicSpec> topics, CancellationToken cancellationToken = default)
    {
        using var response = await _http.PostAsJsonAsync(new Uri("topics", UriKind.Relative), ToRequests(topics), Json, cancellationToken);
        await EnsureOkAsync(response, cancellationToken);
        var created = await response.Content.ReadFromJsonAsync<MockTopicsCreated>(Json, cancellationToken);
        return created?.Created ?? [];
    }

    /// <summary>Synchronous <see cref="CreateTopicsAsync"/> for fixtures that set up options synchronously (uses HttpClient.Send, not sync-over-async).</summary>
    public IReadOnlyList<string> CreateTopics(IEnumerable<TopicSpec> topics)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("topics", UriKind.Relative))
        {
            Content = JsonContent.Create(ToRequests(topics), options: Json),
        };
        using var response = _http.Send(request);
        using var stream = response.Content.ReadAsStream();
        if (!response.IsSuccessStatusCode)
        {
            var error = JsonSerializer.Deserialize<MockControlError>(stream, Json);
            throw new InvalidOperationException($"Mock cluster control: {(int)response.StatusCode} {error?.Error}");
        }

        return JsonSerializer.Deserialize<MockTopicsCreated>(stream, Json)?.Created ?? [];
    }

    /// <summary>Disconnects a broker and refuses new connections (leadership does not move).</summary>
    public Task SetBrokerDownAsync(int brokerId, CancellationToken cancellationToken = default) =>
        PostAsync($"brokers/{Id(brokerId)}/down", null, cancellationToken);

    /// <summary>Lets a broker accept connections again.</summary>
    public Task SetBrokerUpAsync(int brokerId, CancellationToken cancellationToken = default) =>
        PostAsync($"brokers/{Id(brokerId)}/up", null, cancellationToken);

    /// <summary>Delays every response of a broker; 0 removes the delay.</summary>
    public Task SetBrokerRttAsync(int brokerId, TimeSpan rtt, CancellationToken cancellationToken = default) =>
        PostAsync($"brokers/{Id(brokerId)}/rtt", new MockRttRequest((int)rtt.TotalMilliseconds), cancellationToken);

    /// <summary>The next requests of <paramref name="apiKey"/> fail with <paramref name="errors"/>, one each, in order.</summary>
    public Task PushRequestErrorsAsync(KafkaApiKey apiKey, IEnumerable<ErrorCode> errors, CancellationToken cancellationToken = default) =>
        PostAsync("request-errors", new MockRequestErrorsRequest((short)apiKey, errors.Select(e => (int)e).ToArray()), cancellationToken);

    /// <summary>Drops the pending injected errors of <paramref name="apiKey"/>.</summary>
    public async Task ClearRequestErrorsAsync(KafkaApiKey apiKey, CancellationToken cancellationToken = default)
    {
        using var response = await _http.DeleteAsync(new Uri($"request-errors/{((short)apiKey).ToString(CultureInfo.InvariantCulture)}", UriKind.Relative), cancellationToken);
        await EnsureOkAsync(response, cancellationToken);
    }

    /// <summary>Moves a partition's leadership to <paramref name="brokerId"/>.</summary>
    public Task SetPartitionLeaderAsync(string topic, int partition, int brokerId, CancellationToken cancellationToken = default) =>
        PostAsync("partition-leader", new MockPartitionLeaderRequest(topic, partition, brokerId), cancellationToken);

    /// <summary>Makes <paramref name="brokerId"/> the coordinator of a consumer group.</summary>
    public Task SetGroupCoordinatorAsync(string groupId, int brokerId, CancellationToken cancellationToken = default) =>
        PostAsync("coordinator", new MockCoordinatorRequest("group", groupId, brokerId), cancellationToken);

    /// <inheritdoc />
    public void Dispose() => _http.Dispose();

    private static MockTopicRequest[] ToRequests(IEnumerable<TopicSpec> topics) =>
        topics.Select(t => new MockTopicRequest(t.Name, t.Partitions)).ToArray();

    private static string Id(int brokerId) => brokerId.ToString(CultureInfo.InvariantCulture);

    private async Task PostAsync(string path, object? body, CancellationToken cancellationToken)
    {
        using HttpContent content = body is null ? new StringContent("{}") : JsonContent.Create(body, body.GetType(), options: Json);
        using var response = await _http.PostAsync(new Uri(path, UriKind.Relative), content, cancellationToken);
        await EnsureOkAsync(response, cancellationToken);
    }

    private static async Task EnsureOkAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        var error = await response.Content.ReadFromJsonAsync<MockControlError>(Json, cancellationToken);
        throw new InvalidOperationException($"Mock cluster control: {(int)response.StatusCode} {error?.Error}");
    }
}
