using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace StreamMonitor.Influx;

/// <summary>
/// Batching line-protocol writer for InfluxDB's 1.x <c>/write</c> API.
/// </summary>
/// <remarks>
/// <para>Points go into a bounded buffer; when it is full <see cref="WriteAsync(LinePoint, CancellationToken)"/> waits
/// (backpressure), so memory stays bounded and nothing is dropped. A background loop sends batches of up to
/// <see cref="InfluxOptions.BatchSize"/> points (or whatever arrived within <see cref="InfluxOptions.FlushInterval"/>),
/// gzip-compressed, with nanosecond precision.</para>
/// <para>5xx responses, connection errors and timeouts are retried with exponential backoff and jitter, by default
/// forever: while InfluxDB is down the batch is kept, the buffer fills and producers wait. A 400/413 response splits
/// the batch until the offending points are isolated; those, and any other 4xx, are counted as rejected, logged and
/// reported by the next <see cref="FlushAsync"/>. Re-sending good points of a split batch is harmless because a point
/// with the same identity overwrites itself.</para>
/// </remarks>
public sealed class InfluxWriter : IAsyncDisposable
{
    /// <summary>Name of the <see cref="Meter"/> carrying the writer's counters.</summary>
    public const string MeterName = "StreamMonitor.Influx";

    private readonly InfluxOptions _options;
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly ILogger _logger;
    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly Counter<long> _writtenCounter;
    private readonly Counter<long> _rejectedCounter;
    private readonly Counter<long> _failedCounter;
    private readonly Counter<long> _retryCounter;
    private readonly KeyValuePair<string, object?> _databaseTag;
    private readonly Channel<string> _buffer;
    private readonly Lock _gate = new();
    private readonly List<(long Target, TaskCompletionSource Done)> _flushWaiters = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly ResiliencePipeline<HttpResponseMessage> _pipeline;
    private readonly Uri _writeUri;

    /// <summary>The configured URL as logs show it: no user-info, path hashed (<see cref="UrlRedaction"/>).</summary>
    private readonly string _url;
    private readonly Task _loop;
    private TaskCompletionSource _wake = NewSignal();
    private long _accepted;
    private long _completed;
    private long _written;
    private long _rejected;
    private long _failed;
    private long _retries;
    private long _batches;
    private long _unreportedRejected;
    private long _unreportedFailed;
    private string? _lastProblem;
    private int _disposed;

    /// <summary>Creates a writer and starts its flush loop.</summary>
    /// <param name="options">Connection, batching and retry settings.</param>
    /// <param name="httpClient">Client to send with (e.g. from IHttpClientFactory); a private one when null.</param>
    /// <param name="logger">Logger; none when null.</param>
    /// <param name="meterFactory">Meter factory of the host; a private meter when null.</param>
    public InfluxWriter(InfluxOptions options, HttpClient? httpClient = null, ILogger<InfluxWriter>? logger = null, IMeterFactory? meterFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _ownsHttp = httpClient is null;
        _http = httpClient ?? InfluxHttp.CreateOwnedClient();
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _ownsMeter = meterFactory is null;
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _databaseTag = new("database", options.Database);
        _writtenCounter = _meter.CreateCounter<long>("streammon.influx.points_written", description: "Points acknowledged by InfluxDB.");
        _rejectedCounter = _meter.CreateCounter<long>("streammon.influx.points_rejected", description: "Points refused by InfluxDB as bad data (4xx).");
        _failedCounter = _meter.CreateCounter<long>("streammon.influx.points_failed", description: "Points given up on after retries or at shutdown.");
        _retryCounter = _meter.CreateCounter<long>("streammon.influx.retries", description: "Retried /write attempts.");
        _meter.CreateObservableGauge("streammon.influx.points_pending", () => new Measurement<long>(Statistics.Pending, _databaseTag), description: "Points buffered or in flight.");

        _buffer = Channel.CreateBounded<string>(new BoundedChannelOptions(options.BufferCapacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
        });
        _writeUri = InfluxHttp.Endpoint(options, "write", InfluxHttp.DatabaseQuery(options, options.Database) + "&precision=ns");
        _url = UrlRedaction.Redact(options.Url);
        _pipeline = BuildPipeline();
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Counters since creation.</summary>
    public InfluxWriterStatistics Statistics
    {
        get
        {
            lock (_gate)
            {
                return new(_accepted, Interlocked.Read(ref _written), Interlocked.Read(ref _rejected), Interlocked.Read(ref _failed),
                    Interlocked.Read(ref _retries), Interlocked.Read(ref _batches), _accepted - _completed);
            }
        }
    }

    /// <summary>Queues a point; waits while the buffer is full.</summary>
    /// <exception cref="LineProtocolException">The point cannot be rendered exactly.</exception>
    /// <exception cref="ObjectDisposedException">The writer is disposed.</exception>
    public ValueTask WriteAsync(LinePoint point, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(point);
        return EnqueueAsync(point.ToLineProtocol(), cancellationToken);
    }

    /// <summary>
    /// Queues a point if the buffer has room, without waiting: false when the buffer is full (InfluxDB slow or down) or
    /// the writer is disposed. For callers whose decisions must not wait on a projection; they count what is not queued.
    /// </summary>
    /// <exception cref="LineProtocolException">The point cannot be rendered exactly.</exception>
    public bool TryWrite(LinePoint point)
    {
        ArgumentNullException.ThrowIfNull(point);
        var line = point.ToLineProtocol();
        lock (_gate)
        {
            if (_buffer.Writer.TryWrite(line))
            {
                _accepted++;
                return true;
            }
        }

        return false;
    }

    /// <summary>Queues points in order; every point is validated before any is queued.</summary>
    public async ValueTask WriteAsync(IEnumerable<LinePoint> points, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(points);
        var lines = points.Select(p => p.ToLineProtocol()).ToList();
        foreach (var line in lines)
        {
            await EnqueueAsync(line, cancellationToken);
        }
    }

    /// <summary>
    /// Waits until every point accepted before this call has been written (acknowledged by InfluxDB), then throws
    /// <see cref="InfluxWriteException"/> if any point was rejected or failed since the previous report.
    /// </summary>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        if (_loop.IsFaulted)
        {
            throw new InvalidOperationException("The InfluxDB writer loop failed; no further points will be written.", _loop.Exception);
        }

        Task done;
        lock (_gate)
        {
            if (_completed >= _accepted)
            {
                done = Task.CompletedTask;
            }
            else
            {
                var waiter = NewSignal();
                _flushWaiters.Add((_accepted, waiter));
                done = waiter.Task;
                _wake.TrySetResult();
                _wake = NewSignal();
            }
        }

        await done.WaitAsync(cancellationToken);
        ThrowIfProblems();
    }

    /// <summary>
    /// Stops accepting points, writes what is buffered (waiting at most <see cref="InfluxOptions.ShutdownTimeout"/>
    /// while InfluxDB is unreachable; the rest is counted as failed and logged), and releases resources.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        lock (_gate)
        {
            _buffer.Writer.TryComplete();
            _wake.TrySetResult();
        }

        try
        {
            await _loop.WaitAsync(_options.ShutdownTimeout);
        }
        catch (TimeoutException)
        {
            await _stop.CancelAsync();
            await _loop;
        }
        catch (Exception) when (_loop.IsFaulted)
        {
            // Already logged as critical by the loop; disposal still releases resources.
        }

        _stop.Dispose();
        if (_ownsHttp)
        {
            _http.Dispose();
        }

        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }

    private async ValueTask EnqueueAsync(string line, CancellationToken cancellationToken)
    {
        while (true)
        {
            lock (_gate)
            {
                // Counting under the lock keeps _accepted equal to the channel position, which FlushAsync relies on.
                if (_buffer.Writer.TryWrite(line))
                {
                    _accepted++;
                    return;
                }
            }

            if (!await _buffer.Writer.WaitToWriteAsync(cancellationToken))
            {
                throw new ObjectDisposedException(nameof(InfluxWriter));
            }
        }
    }

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
        catch (Exception ex) when (ex is HttpRequestException or TimeoutRejectedException)
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
        catch (Exception ex) when (ex is InfluxQueryException or HttpRequestException)
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
                    .Handle<HttpRequestException>()
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
