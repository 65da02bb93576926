using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;
using StreamMonitor.Contracts;
using StreamMonitor.Influx;

namespace StreamMonitor.Alerter.Notifications;

/// <summary>
/// POSTs notification JSON to a webhook, retrying connection failures, timeouts, 429 and 5xx with exponential
/// backoff and jitter (Polly). Every request carries an Idempotency-Key header that is the same for every retry and
/// every re-send of the same notification, so a receiver can drop the rare duplicate (a delivery whose
/// acknowledgement was lost).
/// </summary>
public sealed class WebhookSender
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };
    private readonly HttpClient _http;
    private readonly Uri _url;

    /// <summary>The URL as logs show it: a webhook's path is its secret (<see cref="UrlRedaction"/>).</summary>
    private readonly string _shown;
    private readonly ResiliencePipeline<HttpResponseMessage> _pipeline;
    private readonly ILogger _logger;

    /// <summary>Creates a sender.</summary>
    public WebhookSender(HttpClient http, Uri url, int attempts, TimeSpan backoff, TimeSpan timeout, ILogger logger, TimeProvider? time = null)
    {
        _http = http ?? throw new ArgumentNullException(nameof(http));
        _url = url ?? throw new ArgumentNullException(nameof(url));
        _shown = UrlRedaction.Redact(url);
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = time ?? TimeProvider.System };
        if (attempts > 1)
        {
            builder.AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = attempts - 1,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = backoff,
                ShouldHandle = new PredicateBuilder<HttpResponseMessage>()
                    .Handle<Exception>(HttpFailures.IsTransport)
                    .Handle<TimeoutException>()
                    .Handle<OperationCanceledException>(ex => ex.InnerException is TimeoutException)
                    .HandleResult(r => (int)r.StatusCode >= 500 || (int)r.StatusCode == 429),
                OnRetry = args =>
                {
                    _logger.LogWarning("Webhook {Url} attempt {Attempt} failed ({Reason}); retrying in {Delay}", _shown, args.AttemptNumber + 1,
                        args.Outcome.Exception is { } ex ? Describe(ex) : ((int)args.Outcome.Result!.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture), args.RetryDelay);
                    return ValueTask.CompletedTask;
                },
            });
        }

        builder.AddTimeout(timeout);
        _pipeline = builder.Build();
    }

    /// <summary>Sends one notification; true when the receiver answered 2xx.</summary>
    public async Task<bool> SendAsync(WebhookNotification notification, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(notification);
        try
        {
            using var response = await _pipeline.ExecuteAsync(
                async token =>
                {
                    using var request = new HttpRequestMessage(HttpMethod.Post, _url) { Content = JsonContent.Create(notification, options: Json) };
                    request.Headers.Add("Idempotency-Key", notification.IdempotencyKey);
                    return await _http.SendAsync(request, token);
                },
                cancellationToken);
            if (response.IsSuccessStatusCode)
            {
                return true;
            }

            _logger.LogWarning("Webhook {Url} answered {Status}; the notification stays pending", _shown, (int)response.StatusCode);
            return false;
        }
        catch (Exception ex) when (HttpFailures.IsTransport(ex) || ex is TimeoutException or Polly.Timeout.TimeoutRejectedException
                                       || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            _logger.LogWarning("Webhook {Url} unreachable after retries ({Reason}); the notification stays pending", _shown, Describe(ex));
            return false;
        }
    }

    /// <summary>An exception's messages (inner ones too) for a log line, scrubbed of the URL's secret parts.</summary>
    private string Describe(Exception error)
    {
        var messages = new List<string>();
        for (var e = error; e is not null && messages.Count < 3; e = e.InnerException)
        {
            messages.Add($"{e.GetType().Name}: {e.Message}");
        }

        return UrlRedaction.Scrub(string.Join(" --> ", messages), _url.OriginalString);
    }
}
