using System.Diagnostics;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;
using Polly.Timeout;
using StreamMonitor.Contracts;

namespace StreamMonitor.Influx;

/// <summary>The send loop of <see cref="InfluxWriter"/>: batching, gzip, retries, splitting rejected batches, database creation and failure accounting.</summary>
public sealed partial class InfluxWriter
{
    private async Task RunAsync()
    {
        var reader = _buffer.Reader;
        var batch = new List<string>(Math.Min(_options.BatchSize, 4096));
        try
        {
            while (await reader.WaitToReadAsync(_stop.Token))
            {
                var started = Stopwatch.GetTimestamp();
                while (batch.Count < _options.BatchSize)
                {
                    if (reader.TryRead(out var line))
                    {
                        batch.Add(line);
                        continue;
                    }

                    var remaining = _options.FlushInterval - Stopwatch.GetElapsedTime(started);
                    if (FlushRequested() || Volatile.Read(ref _disposed) == 1 || remaining <= TimeSpan.Zero)
                    {
                        break;
                    }

                    await WaitForMoreAsync(reader, remaining);
                }

                if (batch.Count > 0)
                {
                    await SendRangeAsync(batch, 0, batch.Count);
                    Complete(batch.Count);
                    batch.Clear();
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            var lost = batch.Count;
            while (reader.TryRead(out _))
            {
                lost++;
            }

            _logger.LogError("InfluxDB {Url} stayed unreachable through shutdown; {Points} points were not written", _url, lost);
            RecordFailed(lost, "writer shut down while InfluxDB was unreachable");
            Complete(lost);
        }
        catch (Exception ex)
        {
            _logger.LogCritical(ex, "InfluxDB writer loop stopped unexpectedly");
            lock (_gate)
            {
                foreach (var (_, done) in _flushWaiters)
                {
                    done.TrySetException(ex);
                }

                _flushWaiters.Clear();
            }

            throw;
        }
    }

    private async Task WaitForMoreAsync(ChannelReader<string> reader, TimeSpan remaining)
    {
        Task wake;
        lock (_gate)
        {
            // Checked under the lock that FlushAsync signals under, so a flush request is never missed.
            if (_flushWaiters.Count > 0)
            {
                return;
            }

            wake = _wake.Task;
        }

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        var more = reader.WaitToReadAsync(cts.Token).AsTask();
        var delay = Task.Delay(remaining, cts.Token);
        await Task.WhenAny(more, delay, wake);
        await cts.CancelAsync();
        _stop.Token.ThrowIfCancellationRequested();
    }

    private bool FlushRequested()
    {
        lock (_gate)
        {
            return _flushWaiters.Count > 0;
        }
    }

    private void Complete(int count)
    {
        lock (_gate)
        {
            _completed += count;
            for (var i = _flushWaiters.Count - 1; i >= 0; i--)
            {
                if (_flushWaiters[i].Target <= _completed)
                {
                    _flushWaiters[i].Done.TrySetResult();
                    _flushWaiters.RemoveAt(i);
                }
            }
        }
    }

    private async Task SendRangeAsync(List<string> lines, int start, int count, bool databaseCreated = false)
    {
        var body = Encode(lines, start, count);
        HttpResponseMessage response;
        try
        {
            response = await PostAsync(body);
        }
        catch (Exception ex) when (HttpFailures.IsTransport(ex) || ex is TimeoutRejectedException)
        {
            // Only reachable with a finite MaxRetries: the retry strategy gave up. The message, not the exception: an
            // exception's text is not ours to vouch for, so it is scrubbed of the URL's secrets first.
            var reason = InfluxHttp.Describe(ex, _options);
            _logger.LogError("InfluxDB {Url} still unreachable after {MaxRetries} retries; {Points} points not written: {Reason}", _url, _options.MaxRetries, count, reason);
            RecordFailed(count, $"unreachable after {_options.MaxRetries} retries: {reason}");
            return;
        }

        using var disposeResponse = response;
        if (response.IsSuccessStatusCode)
        {
            Interlocked.Add(ref _written, count);
            Interlocked.Increment(ref _batches);
            _writtenCounter.Add(count, _databaseTag);
            return;
        }

        var status = (int)response.StatusCode;
        var message = InfluxHttp.Truncate(await response.Content.ReadAsStringAsync(_stop.Token));
        if (status >= 500 || IsTransient(response.StatusCode))
        {
            // Only reachable with a finite MaxRetries: the retry strategy gave up.
            _logger.LogError("InfluxDB {Url} still answered {Status} after {MaxRetries} retries; {Points} points not written: {Message}",
                _url, status, _options.MaxRetries, count, message);
            RecordFailed(count, $"HTTP {status} after {_options.MaxRetries} retries: {message}");
            return;
        }

        if (response.StatusCode == HttpStatusCode.NotFound && _options.CreateDatabase && !databaseCreated
            && message.Contains("database not found", StringComparison.OrdinalIgnoreCase) && await TryCreateDatabaseAsync())
        {
            await SendRangeAsync(lines, start, count, databaseCreated: true);
            return;
        }

        if (status is 400 or 413 && count > 1)
        {
            var half = count / 2;
            await SendRangeAsync(lines, start, half);
            await SendRangeAsync(lines, start + half, count - half);
            return;
        }

        _logger.LogError("InfluxDB {Url} rejected {Points} points with HTTP {Status}: {Message}; first line: {Line}",
            _url, count, status, message, InfluxHttp.Truncate(lines[start], 200));
        Interlocked.Add(ref _rejected, count);
        _rejectedCounter.Add(count, _databaseTag);
        lock (_gate)
        {
            _unreportedRejected += count;
            _lastProblem = $"HTTP {status}: {message}";
        }
    }

    private async Task<bool> TryCreateDatabaseAsync()
    {
        using var query = new InfluxQueryClient(_options, _http);
        try
        {
            await query.CreateDatabaseAsync(cancellationToken: _stop.Token);
            _logger.LogInformation("Created InfluxDB database {Database} on {Url}", _options.Database, _url);
            return true;
        }
        catch (Exception ex) when (ex is InfluxQueryException || HttpFailures.IsTransport(ex))
        {
            _logger.LogError("InfluxDB database {Database} does not exist on {Url} and could not be created: {Reason}", _options.Database, _url, InfluxHttp.Describe(ex, _options));
            return false;
        }
    }

    private ValueTask<HttpResponseMessage> PostAsync(byte[] body) =>
        _pipeline.ExecuteAsync(
            async (state, token) =>
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, _writeUri);
                request.Content = new ByteArrayContent(state);
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("text/plain") { CharSet = "utf-8" };
                if (_options.Gzip)
                {
                    request.Content.Headers.ContentEncoding.Add("gzip");
                }

                InfluxHttp.Authorize(request, _options);
                return await _http.SendAsync(request, token);
            },
            body,
            _stop.Token);

    private void RecordFailed(long count, string problem)
    {
        if (count == 0)
        {
            return;
        }

        Interlocked.Add(ref _failed, count);
        _failedCounter.Add(count, _databaseTag);
        lock (_gate)
        {
            _unreportedFailed += count;
            _lastProblem = problem;
        }
    }

    private void ThrowIfProblems()
    {
        long rejected, failed;
        string? problem;
        lock (_gate)
        {
            (rejected, failed, problem) = (_unreportedRejected, _unreportedFailed, _lastProblem);
            _unreportedRejected = 0;
            _unreportedFailed = 0;
        }

        if (rejected + failed > 0)
        {
            throw new InfluxWriteException($"{rejected} points rejected and {failed} points failed writing to InfluxDB database '{_options.Database}'; last error: {problem}")
            {
                RejectedPoints = rejected,
                FailedPoints = failed,
            };
        }
    }

    private byte[] Encode(List<string> lines, int start, int count)
    {
        var text = new StringBuilder();
        for (var i = start; i < start + count; i++)
        {
            text.Append(lines[i]).Append('\n');
        }

        var raw = Encoding.UTF8.GetBytes(text.ToString());
        if (!_options.Gzip)
        {
            return raw;
        }

        using var compressed = new MemoryStream(raw.Length / 4 + 64);
        using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(raw);
        }

        return compressed.ToArray();
    }

    private ResiliencePipeline<HttpResponseMessage> BuildPipeline() =>
        new ResiliencePipelineBuilder<HttpResponseMessage>()
            .AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                ShouldHandle = new PredicateBuilder<HttpResponseMessage>()
                    .Handle<Exception>(HttpFailures.IsTransport)
                    .Handle<TimeoutRejectedException>()
                    .HandleResult(r => (int)r.StatusCode >= 500 || IsTransient(r.StatusCode)),
                MaxRetryAttempts = _options.MaxRetries == 0 ? int.MaxValue : _options.MaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = _options.RetryInitialDelay,
                MaxDelay = _options.RetryMaxDelay,
                OnRetry = args =>
                {
                    Interlocked.Increment(ref _retries);
                    _retryCounter.Add(1, _databaseTag);
                    var reason = args.Outcome.Exception is { } ex ? InfluxHttp.Describe(ex, _options) : $"HTTP {(int)args.Outcome.Result!.StatusCode}";
                    _logger.LogWarning("InfluxDB write to {Url} failed ({Reason}); retry {Attempt} in {Delay}", _url, reason, args.AttemptNumber + 1, args.RetryDelay);
                    return ValueTask.CompletedTask;
                },
            })
            .AddTimeout(_options.RequestTimeout)
            .Build();

    private static bool IsTransient(HttpStatusCode status) => status is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests;

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
