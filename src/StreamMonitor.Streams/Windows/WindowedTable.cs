using StreamMonitor.Analytics;
using StreamMonitor.Contracts.State;

namespace StreamMonitor.Streams;

/// <summary>A window result leaving a <see cref="WindowedTable{TState}"/>.</summary>
/// <param name="Key">Grouping key (e.g. model|version).</param>
/// <param name="SpecIndex">Index of the window spec in the table's spec list.</param>
/// <param name="Spec">The window spec.</param>
/// <param name="Window">The window (start and the spec's size).</param>
/// <param name="State">Merged state of the window's panes; read-only for the receiver.</param>
/// <param name="Final">True when the window closed on this partition's own stream time; false for an idle flush
/// (a provisional result re-emitted if more records arrive before the window closes).</param>
public readonly record struct WindowResult<TState>(string Key, int SpecIndex, WindowSpec Spec, Window Window, TState State, bool Final);

/// <summary>
/// Event-time windows of one partition task. Stream time is the largest event time seen. A window [start, end)
/// closes, and its final result is emitted once, when stream time &gt;= end + grace; its panes are dropped when no
/// open window needs them. A record is late for a spec when even the latest window containing it has closed; the
/// caller routes it (late-events topic) and the table counts it in the pane holding the current stream time.
/// Deterministic: results depend only on the order of records in the partition. Not thread-safe (one task owns it).
/// Close, grace and idle arithmetic is exact over the whole range of <see cref="long"/> (a window whose close lies beyond
/// <see cref="long.MaxValue"/> never closes): an absurd event time cannot wrap into the past and close everything.
/// </summary>
public sealed class WindowedTable<TState>
    where TState : class, IMergeable<TState>
{
    private readonly IReadOnlyList<WindowSpec> _specs;
    private readonly Func<TState> _factory;
    private readonly Dictionary<PaneId, TState> _panes = [];
    private readonly HashSet<PaneId> _flushed = [];
    private long _closedThrough = long.MinValue;
    private long _nextCloseAt = long.MaxValue;

    /// <summary>Creates an empty table whose windows all close <paramref name="graceMs"/> after their end.</summary>
    public WindowedTable(IReadOnlyList<WindowSpec> specs, long graceMs, Func<TState> factory)
    {
        ArgumentNullException.ThrowIfNull(specs);
        ArgumentOutOfRangeException.ThrowIfNegative(graceMs);
        if (specs.Count is 0 or > 31)
        {
            throw new ArgumentException("Between 1 and 31 window specs.", nameof(specs));
        }

        _specs = [.. specs.Select(spec => spec.WithGrace(graceMs))];
        GraceMs = graceMs;
        _factory = factory;
    }

    /// <summary>Window specs, by index, with the table's grace.</summary>
    public IReadOnlyList<WindowSpec> Specs => _specs;

    /// <summary>Grace period after a window's end during which out-of-order records are still accepted.</summary>
    public long GraceMs { get; }

    /// <summary>Largest event time seen (long.MinValue before the first record).</summary>
    public long StreamTime { get; private set; } = long.MinValue;

    /// <summary>Number of panes held (open state).</summary>
    public int PaneCount => _panes.Count;

    /// <summary>The panes held, for memory accounting and tests.</summary>
    public IEnumerable<TState> Panes => _panes.Values;

    /// <summary>
    /// Adds one record: advances stream time, applies <paramref name="update"/> to the record's pane of every spec for
    /// which it is not late, applies <paramref name="onLate"/> to the current pane of every spec for which it is late,
    /// then appends the windows that closed to <paramref name="closed"/>. Returns a bit mask of the late spec indexes.
    /// </summary>
    public int Add(string key, long eventTimeMs, Action<TState> update, Action<TState>? onLate, List<WindowResult<TState>> closed)
    {
        ArgumentNullException.ThrowIfNull(update);
        ArgumentNullException.ThrowIfNull(closed);
        if (eventTimeMs > StreamTime)
        {
            StreamTime = eventTimeMs;
        }

        var lateMask = 0;
        for (var i = 0; i < _specs.Count; i++)
        {
            var spec = _specs[i];
            if (spec.IsLate(eventTimeMs, StreamTime))
            {
                lateMask |= 1 << i;
                if (onLate is not null)
                {
                    onLate(GetOrCreatePane(new PaneId(key, i, spec.PaneStart(StreamTime))));
                }
            }
            else
            {
                update(GetOrCreatePane(new PaneId(key, i, spec.PaneStart(eventTimeMs))));
            }
        }

        CloseWindows(closed);
        return lateMask;
    }

    /// <summary>
    /// Advances stream time without a record (used when restoring or by a data-derived watermark) and closes windows.
    /// </summary>
    public void AdvanceTo(long streamTimeMs, List<WindowResult<TState>> closed)
    {
        ArgumentNullException.ThrowIfNull(closed);
        if (streamTimeMs > StreamTime)
        {
            StreamTime = streamTimeMs;
        }

        CloseWindows(closed);
    }

    /// <summary>
    /// Idle flush: emits provisional results (Final = false) of the open windows whose end + grace + idle is at or
    /// before <paramref name="watermarkMs"/> (a watermark taken from other partitions' data, never the wall clock).
    /// The windows stay open; a window is flushed again only after it receives more records.
    /// </summary>
    public void FlushIdle(long watermarkMs, long idleMs, List<WindowResult<TState>> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var candidates = new HashSet<PaneId>();
        foreach (var pane in _panes.Keys)
        {
            var spec = _specs[pane.Spec];
            foreach (var window in spec.WindowsContaining(pane.Start))
            {
                var closeAt = spec.CloseTime(window.StartMs);
                var id = pane with { Start = window.StartMs };
                if (closeAt > StreamTime && closeAt + idleMs <= watermarkMs && !_flushed.Contains(id))
                {
                    candidates.Add(id);
                }
            }
        }

        foreach (var window in Order(candidates))
        {
            _flushed.Add(window);
            output.Add(Merge(window, final: false));
        }
    }

    /// <summary>
    /// The snapshot format of a table: stream time, closed-through time, then every pane (key, spec index, start, and its
    /// state as a <paramref name="panes"/> record), in a deterministic order. Version 0 is the same layout stored before
    /// task states had a header (<see cref="TaskState"/>); a restore reads it into <paramref name="empty"/>().
    /// </summary>
    /// <param name="empty">Creates the empty table to restore into (its specs and grace).</param>
    /// <param name="panes">The pane state's codec.</param>
    public static IStateCodec<WindowedTable<TState>> Codec(Func<WindowedTable<TState>> empty, IStateCodec<TState> panes) => new Format(empty, panes);

    private TState GetOrCreatePane(PaneId id)
    {
        if (!_panes.TryGetValue(id, out var state))
        {
            state = _factory();
            _panes[id] = state;
            _nextCloseAt = Math.Min(_nextCloseAt, NextCloseOf(id));
        }

        if (_flushed.Count > 0)
        {
            foreach (var window in _specs[id.Spec].WindowsContaining(id.Start))
            {
                _flushed.Remove(id with { Start = window.StartMs });
            }
        }

        return state;
    }

    /// <summary>Earliest end + grace, after the last close pass, of a window containing the pane.</summary>
    private long NextCloseOf(PaneId id)
    {
        var spec = _specs[id.Spec];
        var next = long.MaxValue;
        foreach (var window in spec.WindowsContaining(id.Start))
        {
            // A close beyond long.MaxValue is never reached: it stays at "none" (long.MaxValue).
            var closeAt = spec.CloseTime(window.StartMs);
            if (closeAt > _closedThrough && closeAt < next)
            {
                next = (long)closeAt;
            }
        }

        return next;
    }

    private void CloseWindows(List<WindowResult<TState>> closed)
    {
        if (StreamTime < _nextCloseAt)
        {
            return;
        }

        var from = _closedThrough;
        var to = StreamTime;
        var windows = new HashSet<PaneId>();
        foreach (var pane in _panes.Keys)
        {
            var spec = _specs[pane.Spec];
            foreach (var window in spec.WindowsContaining(pane.Start))
            {
                var closeAt = spec.CloseTime(window.StartMs);
                if (closeAt > from && closeAt <= to)
                {
                    windows.Add(pane with { Start = window.StartMs });
                }
            }
        }

        foreach (var window in Order(windows))
        {
            _flushed.Remove(window);
            closed.Add(Merge(window, final: true));
        }

        _closedThrough = to;
        var drop = new List<PaneId>();
        _nextCloseAt = long.MaxValue;
        foreach (var pane in _panes.Keys)
        {
            var spec = _specs[pane.Spec];
            if (spec.IsLate(pane.Start, to))
            {
                drop.Add(pane);
            }
            else
            {
                _nextCloseAt = Math.Min(_nextCloseAt, NextCloseOf(pane));
            }
        }

        foreach (var pane in drop)
        {
            _panes.Remove(pane);
        }
    }

    private WindowResult<TState> Merge(PaneId window, bool final)
    {
        var spec = _specs[window.Spec];
        TState merged;
        if (spec.PaneMs == spec.SizeMs)
        {
            merged = _panes[window];
        }
        else
        {
            merged = _factory();

            // By index: near long.MaxValue "pane += PaneMs" would wrap and never reach the window's end.
            for (var i = 0L; i < spec.SizeMs / spec.PaneMs && (Int128)window.Start + (i * spec.PaneMs) <= long.MaxValue; i++)
            {
                if (_panes.TryGetValue(window with { Start = window.Start + (i * spec.PaneMs) }, out var state))
                {
                    merged.MergeFrom(state);
                }
            }
        }

        return new WindowResult<TState>(window.Key, window.Spec, spec, new Window(window.Start, spec.SizeMs), merged, final);
    }

    private static IEnumerable<PaneId> Order(IEnumerable<PaneId> windows) =>
        windows.OrderBy(w => w.Start).ThenBy(w => w.Spec).ThenBy(w => w.Key, StringComparer.Ordinal);

    private readonly record struct PaneId(string Key, int Spec, long Start);

    private sealed class Format(Func<WindowedTable<TState>> empty, IStateCodec<TState> panes) : IStateCodec<WindowedTable<TState>>
    {
        public byte Version => 1;

        public byte OldestVersion => 0;

        public void Write(BinaryWriter writer, WindowedTable<TState> value)
        {
            ArgumentNullException.ThrowIfNull(writer);
            ArgumentNullException.ThrowIfNull(value);
            writer.Write(value.StreamTime);
            writer.Write(value._closedThrough);
            writer.Write(value._panes.Count);
            foreach (var (id, state) in value._panes.OrderBy(p => p.Key.Key, StringComparer.Ordinal).ThenBy(p => p.Key.Spec).ThenBy(p => p.Key.Start))
            {
                writer.Write(id.Key);
                writer.Write(id.Spec);
                writer.Write(id.Start);
                panes.WriteVersioned(writer, state);
            }
        }

        public WindowedTable<TState> Read(BinaryReader reader, byte version)
        {
            ArgumentNullException.ThrowIfNull(reader);
            var table = empty();
            if (table._panes.Count != 0)
            {
                throw new InvalidOperationException("Restore into an empty table only.");
            }

            table.StreamTime = reader.ReadInt64();
            table._closedThrough = reader.ReadInt64();
            var count = reader.ReadInt32();
            for (var i = 0; i < count; i++)
            {
                var id = new PaneId(reader.ReadString(), reader.ReadInt32(), reader.ReadInt64());
                if (id.Spec < 0 || id.Spec >= table._specs.Count)
                {
                    throw new InvalidDataException($"Checkpoint names window spec {id.Spec}; {table._specs.Count} are configured.");
                }

                table._panes[id] = panes.ReadVersioned(reader);
                table._nextCloseAt = Math.Min(table._nextCloseAt, table.NextCloseOf(id));
            }

            return table;
        }
    }
}
