using System.Text;
using Confluent.Kafka;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.Time;
using StreamMonitor.Contracts.Validation;

namespace StreamMonitor.Streams;

/// <summary>Stage B of a topology: turns the partials of all source partitions of a window into its result.</summary>
public interface IResultBuilder
{
    /// <summary>Kind of the windows this builder merges.</summary>
    WindowKind Kind { get; }

    /// <summary>Compacted topic of the results.</summary>
    string ResultTopic { get; }

    /// <summary>Source ids ("topic:partition") whose partials make a window complete.</summary>
    IReadOnlyList<string> Sources { get; }

    /// <summary>Merges encoded partial states (ordered by source) into the encoded result event.</summary>
    byte[] Build(WindowKey window, IReadOnlyList<byte[]> partialStates);

    /// <summary>
    /// True for upserted results (quality): the window is emitted whenever a partial changed it, and once more when it
    /// is complete; it is kept until complete (no retention: a source racing ahead must not expire it while another
    /// can still update it). False: emitted at completion or after the merge grace, then on every later partial.
    /// </summary>
    bool Upsert => false;

    /// <summary>
    /// This topology's windows with their grace when it differs from the stage's (<see cref="MergeSettings.GraceMs"/>):
    /// the merge counts a window complete when every source's watermark has reached its
    /// <see cref="WindowSpec.CloseTime"/>.
    /// </summary>
    WindowSpec? Windows => null;

    /// <summary>As <see cref="Build(WindowKey, IReadOnlyList{byte[]})"/>; <paramref name="complete"/>: every source has
    /// passed the window, so this is its last emission.</summary>
    byte[] Build(WindowKey window, IReadOnlyList<byte[]> partialStates, bool complete) => Build(window, partialStates);

    /// <summary>
    /// Whether this builder can build <paramref name="window"/> (false, e.g., for a drift window of a model whose profile
    /// was removed from the configuration while its partials were in flight): the merge dead-letters such partials.
    /// </summary>
    bool Covers(WindowKey window) => true;
}

/// <summary>
/// Stage B for one partition of the partials topic. Keeps, per window, the latest partial of each source and, per
/// source, its watermark (stream time). A window closes at end + grace. It is emitted when every source's watermark
/// has passed its close (complete: every partial that will ever exist is here), or earlier, when any source's
/// watermark has passed close + merge grace (lagging or idle sources are then missing); each partial arriving after
/// that re-emits it, so the last result on the compacted topic is always the merge of every partial. Complete windows
/// are dropped; a partial for a complete window with no state is a replayed duplicate and is ignored. An incomplete
/// window is dropped after close + merge grace + retention only when every source still behind its close is idle (has
/// announced that it consumed all of its input): a source that is merely behind, as when partitions race through a
/// backlog or a replay, can never have its partials expired, so the final result of a window is a function of the
/// input alone, not of how the sources' records interleave here. A later partial of a source for a window dropped
/// while that source was idle is dead-lettered (PARTIAL_EXPIRED); a partial that does not parse (PARTIAL_MALFORMED) or
/// that no configured builder covers (PARTIAL_UNMERGEABLE) is dead-lettered too. Close, grace and retention arithmetic
/// saturates, so no watermark or window start can wrap it.
/// </summary>
public sealed class MergeStageTask : IPartitionTask
{
    // Version 1 is the layout stored before the header (version 0), behind it.
    private const byte StateVersion = 1;
    private readonly Dictionary<WindowKind, IResultBuilder> _builders;
    private readonly MergeSettings _settings;
    private readonly EventCodec _codec;
    private readonly ProgressBoard _progress;

    // Per source its watermark and whether it announced itself idle: stage A applied the idle rule, so the merge
    // takes idleness from the announcements alone (span 0).
    private readonly LaneWatermarks _sources = new(new IdleRule(0));
    private readonly Dictionary<string, long> _expiredThrough = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, MergeWindow> _windows = new(StringComparer.Ordinal);
    private readonly Dictionary<(WindowKind Kind, long SizeMs), WindowSpec> _specs = [];

    /// <summary>Creates or restores the task.</summary>
    public MergeStageTask(IEnumerable<IResultBuilder> builders, MergeSettings settings, byte[]? state, EventCodec codec, ProgressBoard progress)
    {
        _builders = builders.ToDictionary(b => b.Kind);
        _settings = settings;
        _codec = codec;
        _progress = progress;
        if (state is not null)
        {
            Restore(state);
        }
    }

    /// <inheritdoc />
    public long StreamTime => _sources.Front ?? long.MinValue;

    /// <summary>Partials ignored as replayed duplicates of complete windows.</summary>
    public long Duplicates { get; private set; }

    /// <summary>Partials that arrived after their window's retention, dead-lettered.</summary>
    public long Expired { get; private set; }

    /// <summary>Windows held.</summary>
    public int OpenWindows => _windows.Count;

    /// <inheritdoc />
    public void Process(ConsumeResult<byte[], byte[]> record, ITaskOutput output)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(output);
        PartialRecord partial;
        try
        {
            partial = PartialRecords.Parse(record.Message.Value);
        }
        catch (InvalidDataException ex)
        {
            SendDeadLetter(output, record, ReasonCodes.PartialMalformed, ex.Message);
            return;
        }

        if (partial.Window is not { } window)
        {
            var changed = _sources.SetIdle(partial.Source, partial.Idle);
            if (_sources.Observe(partial.Source, partial.StreamTimeMs))
            {
                _progress.Observe(partial.StreamTimeMs);
                changed = true;
            }

            if (changed)
            {
                foreach (var key in _windows.Keys.ToList())
                {
                    Evaluate(key, output);
                }
            }

            return;
        }

        if (!Covers(window))
        {
            SendDeadLetter(output, record, ReasonCodes.PartialUnmergeable, $"No merge is configured for the {window.Kind} partial of {window} (topology disabled or profile removed).");
            return;
        }

        var text = window.ToString();
        if (!_windows.TryGetValue(text, out var state))
        {
            if (IsComplete(window))
            {
                Duplicates++;
                _settings.Metrics?.MergeDuplicate();
                return;
            }

            if (!_builders[window.Kind].Upsert && CloseAt(window) <= _expiredThrough.GetValueOrDefault(partial.Source, long.MinValue))
            {
                Expired++;
                _settings.Metrics?.MergeExpired();
                SendDeadLetter(output, record, ReasonCodes.PartialExpired, $"Partial of {text} from {partial.Source} arrived after the merge retention dropped the window while that source was idle.");
                return;
            }

            state = new MergeWindow(window);
            _windows[text] = state;
        }

        state.Partials[partial.Source] = partial.State;
        state.Dirty = true;
        if (state.Emitted && !_builders[window.Kind].Upsert)
        {
            Emit(state, output);
        }

        Evaluate(text, output);
    }

    /// <inheritdoc />
    public void OnIdle(long watermarkMs, ITaskOutput output)
    {
    }

    /// <inheritdoc />
    public byte[] Snapshot() => TaskState.Encode(StateVersion, writer =>
    {
        writer.Write(Duplicates);
        writer.Write(Expired);
        var watermarks = _sources.Lanes.Where(l => l.Position is not null).OrderBy(l => l.Name, StringComparer.Ordinal).ToList();
        writer.Write(watermarks.Count);
        foreach (var source in watermarks)
        {
            writer.Write(source.Name);
            writer.Write(source.Position!.Value);
        }

        writer.Write(_windows.Count);
        foreach (var window in _windows.Values)
        {
            writer.Write(window.Key.ToString());
            writer.Write(window.Emitted);
            writer.Write(window.Dirty);
            writer.Write(window.Partials.Count);
            foreach (var (source, partial) in window.Partials)
            {
                writer.Write(source);
                writer.Write(partial.Length);
                writer.Write(partial);
            }
        }

        var idle = _sources.Lanes.Where(l => l.Idle).Select(l => l.Name).Order(StringComparer.Ordinal).ToList();
        writer.Write(idle.Count);
        foreach (var source in idle)
        {
            writer.Write(source);
        }

        writer.Write(_expiredThrough.Count);
        foreach (var (source, closeAt) in _expiredThrough.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            writer.Write(source);
            writer.Write(closeAt);
        }
    });

    private void Restore(byte[] state) => TaskState.Decode(state, StateVersion, (reader, version) =>
    {
        Duplicates = reader.ReadInt64();
        Expired = reader.ReadInt64();
        var sources = reader.ReadInt32();
        for (var i = 0; i < sources; i++)
        {
            _sources.Observe(reader.ReadString(), reader.ReadInt64());
        }

        var windows = reader.ReadInt32();
        for (var i = 0; i < windows; i++)
        {
            var window = new MergeWindow(WindowKey.Parse(reader.ReadString())) { Emitted = reader.ReadBoolean(), Dirty = reader.ReadBoolean() };
            var partials = reader.ReadInt32();
            for (var j = 0; j < partials; j++)
            {
                var source = reader.ReadString();
                window.Partials[source] = reader.ReadBytes(reader.ReadInt32());
            }

            // A window of a topology or profile configured away since the checkpoint cannot be built any more.
            if (Covers(window.Key))
            {
                _windows[window.Key.ToString()] = window;
            }
        }

        // Checkpoints written before idle tracking (all before the header) end here: no source idle, nothing expired.
        if (version > 0 || reader.BaseStream.Position < reader.BaseStream.Length)
        {
            var idle = reader.ReadInt32();
            for (var i = 0; i < idle; i++)
            {
                _sources.SetIdle(reader.ReadString(), true);
            }

            var expired = reader.ReadInt32();
            for (var i = 0; i < expired; i++)
            {
                _expiredThrough[reader.ReadString()] = reader.ReadInt64();
            }
        }

        _progress.Observe(StreamTime);
    });

    private bool Covers(WindowKey window) => _builders.TryGetValue(window.Kind, out var builder) && builder.Covers(window);

    private long CloseAt(WindowKey window) => SpecOf(window).ClampedCloseTime(window.WindowStartMs);

    /// <summary>
    /// The spec that closes <paramref name="window"/>: its size with its topology's grace. Only the close is asked of it,
    /// so the advance of a hopping window does not matter: the key's start is already a window start.
    /// </summary>
    private WindowSpec SpecOf(WindowKey window)
    {
        if (!_specs.TryGetValue((window.Kind, window.WindowSizeMs), out var spec))
        {
            spec = new WindowSpec(window.WindowSizeMs, window.WindowSizeMs, _builders[window.Kind].Windows?.GraceMs ?? _settings.GraceMs);
            _specs[(window.Kind, window.WindowSizeMs)] = spec;
        }

        return spec;
    }

    private long MaxWatermark() => StreamTime;

    private bool IsComplete(WindowKey window)
    {
        var closeAt = CloseAt(window);
        foreach (var source in _builders[window.Kind].Sources)
        {
            if (_sources.PositionOrMin(source) < closeAt)
            {
                return false;
            }
        }

        return true;
    }

    private void Evaluate(string text, ITaskOutput output)
    {
        var window = _windows[text];
        var builder = _builders[window.Key.Kind];
        var closeAt = CloseAt(window.Key);
        if (IsComplete(window.Key))
        {
            if (window.Dirty || builder.Upsert)
            {
                Emit(window, output, complete: true);
            }

            _windows.Remove(text);
            return;
        }

        var max = MaxWatermark();
        if (builder.Upsert ? window.Dirty : !window.Emitted && max >= Saturating.Add(closeAt, _settings.MergeGraceMs))
        {
            Emit(window, output);
        }

        if (!builder.Upsert && max >= Saturating.Add(closeAt, _settings.MergeGraceMs, _settings.RetentionMs) && LaggingSourcesIdle(builder, closeAt))
        {
            foreach (var source in builder.Sources)
            {
                if (_sources.PositionOrMin(source) < closeAt)
                {
                    _expiredThrough[source] = Math.Max(_expiredThrough.GetValueOrDefault(source, long.MinValue), closeAt);
                }
            }

            _windows.Remove(text);
        }
    }

    /// <summary>True when every source whose watermark is still before <paramref name="closeAt"/> has announced idle.</summary>
    private bool LaggingSourcesIdle(IResultBuilder builder, long closeAt)
    {
        foreach (var source in builder.Sources)
        {
            if (_sources.PositionOrMin(source) < closeAt && !_sources.IsIdle(source))
            {
                return false;
            }
        }

        return true;
    }

    private void Emit(MergeWindow window, ITaskOutput output, bool complete = false)
    {
        var builder = _builders[window.Key.Kind];
        var value = builder.Build(window.Key, window.Partials.Values.ToList(), complete);
        output.Send(builder.ResultTopic, null, Encoding.UTF8.GetBytes(window.Key.ToString()), value);
        _settings.Metrics?.ResultEmitted(window.Key.Kind);
        window.Emitted = true;
        window.Dirty = false;
    }

    private void SendDeadLetter(ITaskOutput output, ConsumeResult<byte[], byte[]> record, string code, string reason)
    {
        var (key, value) = TaskState.DeadLetter(_codec, record, code, reason, null, StreamTime);
        output.Send(_settings.DeadLetterTopic, null, key, value);
        _settings.Metrics?.DeadLetter(code);
    }

    private sealed class MergeWindow(WindowKey key)
    {
        public WindowKey Key { get; } = key;

        public SortedDictionary<string, byte[]> Partials { get; } = new(StringComparer.Ordinal);

        public bool Emitted { get; set; }

        public bool Dirty { get; set; }
    }
}

/// <summary>Settings of the merge stage.</summary>
/// <param name="GraceMs">Window grace (same as stage A).</param>
/// <param name="MergeGraceMs">Extra event time the merge waits for lagging sources.</param>
/// <param name="RetentionMs">How long an incomplete window is kept after that.</param>
/// <param name="DeadLetterTopic">Where malformed or expired partials go.</param>
/// <param name="Metrics">Where the merge reports results, duplicates, expiries and dead letters (optional).</param>
public sealed record MergeSettings(long GraceMs, long MergeGraceMs, long RetentionMs, string DeadLetterTopic, ITaskMetrics? Metrics = null);
