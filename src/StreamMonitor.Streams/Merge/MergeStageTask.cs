using System.Text;
using Confluent.Kafka;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.State;
using StreamMonitor.Contracts.Validation;

namespace StreamMonitor.Streams;

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
    private readonly Dictionary<WindowKind, IResultBuilder> _builders;
    private readonly MergeSettings _settings;
    private readonly EventCodec _codec;
    private readonly ProgressBoard _progress;
    private readonly IStateCodec<MergeState> _format;
    private readonly MergeState _state;
    private readonly Dictionary<(WindowKind Kind, long SizeMs), WindowSpec> _specs = [];

    /// <summary>Creates or restores the task.</summary>
    public MergeStageTask(IEnumerable<IResultBuilder> builders, MergeSettings settings, byte[]? state, EventCodec codec, ProgressBoard progress)
    {
        _builders = builders.ToDictionary(b => b.Kind);
        _settings = settings;
        _codec = codec;
        _progress = progress;
        _format = MergeState.Codec(Covers);
        MergeState? restored = null;
        if (state is not null)
        {
            TaskState.Decode(state, _format.Version, (reader, version) => restored = _format.Read(reader, version));
        }

        _state = restored ?? new MergeState();
        if (restored is not null)
        {
            _progress.Observe(StreamTime);
        }
    }

    /// <inheritdoc />
    public long StreamTime => _state.Sources.Front ?? long.MinValue;

    /// <summary>Partials ignored as replayed duplicates of complete windows.</summary>
    public long Duplicates => _state.Duplicates;

    /// <summary>Partials that arrived after their window's retention, dead-lettered.</summary>
    public long Expired => _state.Expired;

    /// <summary>Windows held.</summary>
    public int OpenWindows => _state.Windows.Count;

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
            var changed = _state.Sources.SetIdle(partial.Source, partial.Idle);
            if (_state.Sources.Observe(partial.Source, partial.StreamTimeMs))
            {
                _progress.Observe(partial.StreamTimeMs);
                changed = true;
            }

            if (changed)
            {
                foreach (var key in _state.Windows.Keys.ToList())
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
        if (!_state.Windows.TryGetValue(text, out var state))
        {
            if (IsComplete(window))
            {
                _state.Duplicates++;
                _settings.Metrics?.MergeDuplicate();
                return;
            }

            if (!_builders[window.Kind].Upsert && CloseAt(window) <= _state.ExpiredThrough.GetValueOrDefault(partial.Source, long.MinValue))
            {
                _state.Expired++;
                _settings.Metrics?.MergeExpired();
                SendDeadLetter(output, record, ReasonCodes.PartialExpired, $"Partial of {text} from {partial.Source} arrived after the merge retention dropped the window while that source was idle.");
                return;
            }

            state = new MergeWindow(window);
            _state.Windows[text] = state;
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
    public byte[] Snapshot() => TaskState.Encode(_format.Version, writer => _format.Write(writer, _state));

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

    private bool IsComplete(WindowKey window)
    {
        var closeAt = CloseAt(window);
        foreach (var source in _builders[window.Kind].Sources)
        {
            if (_state.Sources.PositionOrMin(source) < closeAt)
            {
                return false;
            }
        }

        return true;
    }

    private void Evaluate(string text, ITaskOutput output)
    {
        var window = _state.Windows[text];
        var builder = _builders[window.Key.Kind];
        var closeAt = CloseAt(window.Key);
        if (IsComplete(window.Key))
        {
            if (window.Dirty || builder.Upsert)
            {
                Emit(window, output, complete: true);
            }

            _state.Windows.Remove(text);
            return;
        }

        var max = StreamTime;
        if (builder.Upsert ? window.Dirty : !window.Emitted && max >= Saturating.Add(closeAt, _settings.MergeGraceMs))
        {
            Emit(window, output);
        }

        if (!builder.Upsert && max >= Saturating.Add(closeAt, _settings.MergeGraceMs, _settings.RetentionMs) && LaggingSourcesIdle(builder, closeAt))
        {
            foreach (var source in builder.Sources)
            {
                if (_state.Sources.PositionOrMin(source) < closeAt)
                {
                    _state.ExpiredThrough[source] = Math.Max(_state.ExpiredThrough.GetValueOrDefault(source, long.MinValue), closeAt);
                }
            }

            _state.Windows.Remove(text);
        }
    }

    /// <summary>True when every source whose watermark is still before <paramref name="closeAt"/> has announced idle.</summary>
    private bool LaggingSourcesIdle(IResultBuilder builder, long closeAt)
    {
        foreach (var source in builder.Sources)
        {
            if (_state.Sources.PositionOrMin(source) < closeAt && !_state.Sources.IsIdle(source))
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
}
