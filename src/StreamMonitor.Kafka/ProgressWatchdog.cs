namespace StreamMonitor.Kafka;

/// <summary>
/// Whether the processing loops of a service still move: liveness that tells the truth (/healthz). Each loop
/// registers once (<see cref="Register"/>) and reports through its <see cref="LoopProgress"/>; a loop is
/// <em>stalled</em> when it has input waiting (lag, or a record in hand) and has made no progress for
/// <see cref="StallTimeout"/>. An idle loop with nothing to read is never stalled, however long it waits; a busy one
/// is stalled only when it stops finishing work. Thread-safe.
/// </summary>
public sealed class ProgressWatchdog
{
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private readonly List<LoopProgress> _loops = [];

    /// <summary>Creates a watchdog.</summary>
    /// <param name="stallTimeout">How long a loop with input waiting may go without progress before it counts as stalled.</param>
    /// <param name="time">Clock; the system clock when null.</param>
    public ProgressWatchdog(TimeSpan stallTimeout, TimeProvider? time = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(stallTimeout, TimeSpan.Zero);
        StallTimeout = stallTimeout;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>How long a loop with input waiting may go without progress.</summary>
    public TimeSpan StallTimeout { get; }

    /// <summary>Registers a loop; dispose the handle when the loop ends for good (a restarted loop registers again).</summary>
    /// <param name="name">Shown by /healthz when the loop stalls, e.g. "alerter" or "aggregator/latency".</param>
    public LoopProgress Register(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var loop = new LoopProgress(name, this, _time);
        lock (_lock)
        {
            _loops.Add(loop);
        }

        return loop;
    }

    /// <summary>The loops stalled now, by name.</summary>
    public IReadOnlyList<StalledLoop> Stalled()
    {
        var now = _time.GetTimestamp();
        List<LoopProgress> loops;
        lock (_lock)
        {
            loops = [.. _loops];
        }

        return [.. loops.Select(l => l.StalledAt(now, StallTimeout)).OfType<StalledLoop>().OrderBy(s => s.Name, StringComparer.Ordinal)];
    }

    internal void Unregister(LoopProgress loop)
    {
        lock (_lock)
        {
            _loops.Remove(loop);
        }
    }
}

/// <summary>A loop that has had input waiting and no progress for at least the stall timeout.</summary>
/// <param name="Name">The loop's name.</param>
/// <param name="WithoutProgress">How long it has had input waiting without progress.</param>
/// <param name="Lag">Records waiting, as last reported (at least 1 when a record is in hand).</param>
public sealed record StalledLoop(string Name, TimeSpan WithoutProgress, long Lag);

/// <summary>
/// One loop's reports to the <see cref="ProgressWatchdog"/>. Call <see cref="Received"/> when the loop takes a record
/// (or batch) in hand, <see cref="Progressed"/> when it has finished one (processed, flushed, committed), and
/// <see cref="ReportLag"/> now and then with the records waiting (e.g. from <see cref="ConsumerLag"/>; 0 when caught
/// up). Cheap enough to call per record.
/// </summary>
public sealed class LoopProgress : IDisposable
{
    private readonly ProgressWatchdog _owner;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private long _lastProgress;
    private long _pendingSince;
    private long _lag;
    private bool _inHand;

    internal LoopProgress(string name, ProgressWatchdog owner, TimeProvider time)
    {
        Name = name;
        _owner = owner;
        _time = time;
        _lastProgress = time.GetTimestamp();
    }

    /// <summary>The loop's name.</summary>
    public string Name { get; }

    /// <summary>The loop holds input it has not finished: it counts as having lag until <see cref="Progressed"/>.</summary>
    public void Received()
    {
        lock (_lock)
        {
            MarkPending();
            _inHand = true;
        }
    }

    /// <summary>The loop finished a unit of work.</summary>
    public void Progressed()
    {
        lock (_lock)
        {
            _lastProgress = _time.GetTimestamp();
            _inHand = false;
        }
    }

    /// <summary>Records waiting for the loop now; 0 means caught up (an idle loop is never stalled).</summary>
    public void ReportLag(long records)
    {
        lock (_lock)
        {
            if (records > 0)
            {
                MarkPending();
            }

            _lag = Math.Max(0, records);
        }
    }

    /// <summary>Unregisters the loop.</summary>
    public void Dispose() => _owner.Unregister(this);

    internal StalledLoop? StalledAt(long now, TimeSpan timeout)
    {
        lock (_lock)
        {
            if (_lag == 0 && !_inHand)
            {
                return null;
            }

            // The stall clock starts at the later of the last progress and the moment input started waiting: a loop
            // that was idle for an hour is not stalled the instant a record arrives.
            var since = _time.GetElapsedTime(Math.Max(_lastProgress, _pendingSince), now);
            return since >= timeout ? new StalledLoop(Name, since, Math.Max(_lag, _inHand ? 1 : 0)) : null;
        }
    }

    private void MarkPending()
    {
        if (_lag == 0 && !_inHand)
        {
            _pendingSince = _time.GetTimestamp();
        }
    }
}
