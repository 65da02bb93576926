using System.Diagnostics.Metrics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;

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
public sealed partial class InfluxWriter : IAsyncDisposable
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
}
