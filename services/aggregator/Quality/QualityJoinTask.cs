using System.Globalization;
using System.Text;
using Confluent.Kafka;
using StreamMonitor.Aggregator.Topology;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.Validation;
using StreamMonitor.Kafka;
using StreamMonitor.Streams;

namespace StreamMonitor.Aggregator.Quality;

/// <summary>Settings of the quality topology.</summary>
/// <param name="Window">Tumbling window over prediction event time.</param>
/// <param name="GraceMs">A window closes (no more predictions) at end + grace of prediction stream time.</param>
/// <param name="LabelHorizonMs">How long (task stream time) a prediction waits for its label and a label for its prediction.</param>
/// <param name="UpdateIntervalMs">Closed windows with new labels or expiries are re-emitted when task stream time passes a multiple of this.</param>
/// <param name="Topics">Topic names.</param>
/// <param name="IdleTimeoutMs">Idle rule: a task holding no unfinished window raises its prediction stream time to the
/// process watermark (largest prediction stream time of the process, event time) minus this, so a quiet partition does
/// not hold the merge's windows incomplete forever.</param>
/// <param name="Metrics">Where the task reports late predictions, dead letters and emitted partials (optional).</param>
/// <param name="RoutesMalformedPredictions">Dead-letter predictions the record policy rejects; false when stage A reads
/// the same partitions and already does (a record is dead-lettered once). Labels are always the join's own.</param>
public sealed record QualitySettings(WindowSpec Window, long GraceMs, long LabelHorizonMs, long UpdateIntervalMs, TopicCatalog Topics, long IdleTimeoutMs = 600_000, ITaskMetrics? Metrics = null, bool RoutesMalformedPredictions = true);

/// <summary>
/// Stage A of the quality topology for one co-partitioned pair (predictions p, labels-by-id p: the labels repartitioned
/// by event id, <see cref="LabelRepartitioner"/>): joins labels to OK predictions
/// by event id, whichever arrives first waiting up to the label horizon, and keeps per (model, version, window of
/// prediction event time) a <see cref="QualityAggregate"/>. Stream time = max of prediction event times and label
/// times; windows close on prediction stream time (max prediction event time) + grace. A closed window's partial is
/// emitted at every update tick (stream time passing a multiple of the update interval) and whenever the task is caught
/// up (so the last revision is the state the input gives, however the lanes interleaved) when it changed, and with
/// final = true once all its predictions are labeled or expired (then its state is dropped). The published watermark
/// is the finalisation frontier min(prediction stream time, earliest unfinished window's close − 1), so the merge
/// treats a window as complete only when every partition has finalised it. Deterministic given the record order.
/// State that grows with traffic (pending predictions, waiting labels, resolved ids, windows and their label delays and
/// scores) is kept as changelog entries (<see cref="IChangelogTask"/>): a checkpoint writes only what changed, in
/// append-only chunks for a window's lists, and the checkpoint record holds only counters and stream times.
/// Predictions and labels are read through the record policy (<see cref="InputRecords"/>): a rejected record (an
/// implausible event or label time among others) moves neither stream time. Horizon and close arithmetic saturates.
/// A label the repartition step produced again after a crash is dropped by its source coordinates (per labels-topic
/// partition the highest source offset applied, in the snapshot); dead letters of labels name those coordinates.
/// </summary>
public sealed class QualityJoinTask : IChangelogTask
{
    private const char PendingPrefix = 'P';
    private const char LabelPrefix = 'L';
    private const char ResolvedPrefix = 'R';
    private const char WindowPrefix = 'W';
    private const char ChunkPrefix = 'C';
    private const int SnapshotVersion = 2;

    private static readonly Comparer<(long Time, string Id)> ByTime = Comparer<(long Time, string Id)>.Create(
        (a, b) => a.Time != b.Time ? a.Time.CompareTo(b.Time) : string.CompareOrdinal(a.Id, b.Id));

    private readonly QualitySettings _settings;
    private readonly InputRecords _inputs;
    private readonly EventCodec _codec;
    private readonly string _sourceId;
    private readonly Dictionary<string, PendingPrediction> _pending = new(StringComparer.Ordinal);
    private readonly SortedSet<(long Time, string Id)> _pendingByTime = new(ByTime);
    private readonly Dictionary<string, WaitingLabel> _waiting = new(StringComparer.Ordinal);
    private readonly SortedSet<(long Time, string Id)> _waitingByTime = new(ByTime);
    private readonly Dictionary<string, (Resolution Status, long ForgetAt)> _resolved = new(StringComparer.Ordinal);
    private readonly SortedSet<(long Time, string Id)> _resolvedByTime = new(ByTime);
    private readonly SortedDictionary<(long Time, string Id), WindowState> _windows = new(ByTime);
    private readonly Dictionary<string, byte[]?> _changes = new(StringComparer.Ordinal);
    private readonly HashSet<(long Time, string Id)> _changedWindows = [];

    // Per labels-topic partition, the highest source offset applied: the label repartition step may produce a record
    // again after a crash, always after the original (one source partition reaches a target partition in order).
    private readonly SortedDictionary<int, long> _appliedSourceOffsets = [];
    private long _predictionTime = long.MinValue;
    private long _lastTick = long.MinValue;
    private long _lastFrontier = long.MinValue;

    /// <summary>
    /// Creates or restores the task for partition <paramref name="partition"/> of both topics from its checkpointed
    /// <paramref name="state"/> and the <paramref name="changelog"/> entries live at that checkpoint.
    /// </summary>
    public QualityJoinTask(QualitySettings settings, int partition, byte[]? state, IReadOnlyDictionary<string, byte[]> changelog, InputRecords inputs, EventCodec codec)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(changelog);
        ArgumentNullException.ThrowIfNull(inputs);
        _settings = settings;
        _inputs = inputs;
        _codec = codec;
        _sourceId = SourceOf(settings.Topics, partition);
        if (state is not null)
        {
            Restore(state);
        }

        RestoreEntries(changelog);
    }

    private enum Resolution : byte
    {
        Joined,
        Expired,
        Error,
    }

    /// <summary>Source id of partition <paramref name="partition"/> in the merge ("labels:p": only this topology reads labels).</summary>
    public static string SourceOf(TopicCatalog topics, int partition)
    {
        ArgumentNullException.ThrowIfNull(topics);
        return PartialRecords.SourceOf(topics.Labels, partition);
    }

    /// <inheritdoc />
    public long StreamTime { get; private set; } = long.MinValue;

    /// <summary>
    /// The prediction stream time: the idle rule compares predictions with predictions. Label times lead prediction
    /// times by the label delay, and labels keep arriving while the scorer is slow to start or catching up; had they
    /// counted, a partition whose predictions were merely behind would look idle and its own predictions turn late.
    /// </summary>
    public long ProgressTime => _predictionTime;

    /// <summary>Records the record policy rejected (dead-lettered) and labels of a binary model that are neither 0 nor 1.</summary>
    public long Malformed { get; private set; }

    /// <summary>Predictions whose window had closed (late-events topic).</summary>
    public long Late { get; private set; }

    /// <summary>Error predictions (not joinable; their labels are dead-lettered LABEL_ERROR_PREDICTION).</summary>
    public long ErrorPredictions { get; private set; }

    /// <summary>Duplicate labels (first wins) and duplicate prediction ids, dead-lettered.</summary>
    public long Duplicates { get; private set; }

    /// <summary>Labels whose prediction never arrived within the horizon (LABEL_UNKNOWN_PREDICTION).</summary>
    public long LabelsUnknown { get; private set; }

    /// <summary>Labels whose prediction had expired unlabeled (LABEL_EXPIRED).</summary>
    public long LabelsExpired { get; private set; }

    /// <summary>Labels the repartition step produced again after a crash (dropped: their original was applied).</summary>
    public long RepartitionDuplicates { get; private set; }

    /// <summary>Predictions waiting for a label plus labels waiting for a prediction (state size).</summary>
    public int Waiting => _pending.Count + _waiting.Count;

    /// <summary>Unfinished windows held.</summary>
    public int OpenWindows => _windows.Count;

    /// <inheritdoc />
    public void Process(ConsumeResult<byte[], byte[]> record, ITaskOutput output)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(output);
        if (record.Topic != _settings.Topics.Predictions)
        {
            ProcessLabel(record, output);
        }
        else
        {
            ProcessPrediction(record, output);
        }

        Expire(output);
        var tick = StreamTime == long.MinValue ? long.MinValue : WindowSpec.FloorTo(StreamTime, _settings.UpdateIntervalMs);
        if (tick > _lastTick)
        {
            _lastTick = tick;
            FlushClosedWindows(output);
        }
    }

    /// <inheritdoc />
    public void OnIdle(long watermarkMs, ITaskOutput output)
    {
        ArgumentNullException.ThrowIfNull(output);

        // Caught up: what the closed windows hold now is all this partition's input says. Emitted here, not only at the
        // next update tick, which may never come when traffic pauses: otherwise the last revision of a window would
        // depend on where the tick fell among the records, that is on how the two lanes' fetches interleaved.
        FlushClosedWindows(output);

        // Joins and expiries follow this partition's own records only: expiring on other partitions' time would make
        // the results depend on consumption speed. Only a task with no unfinished window (nothing an advance could cut
        // short) lets the watermark move its frontier; a prediction for a window closed that way is late.
        var idleTime = Saturating.Subtract(watermarkMs, _settings.IdleTimeoutMs);
        if (watermarkMs == long.MinValue || _windows.Count > 0 || idleTime <= _predictionTime)
        {
            return;
        }

        _predictionTime = idleTime;
        PublishFrontier(output);
    }

    /// <inheritdoc />
    public byte[] Snapshot()
    {
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer))
        {
            foreach (var counter in (long[])[StreamTime, _predictionTime, _lastTick, _lastFrontier, Malformed, Late, ErrorPredictions, Duplicates, LabelsUnknown, LabelsExpired])
            {
                writer.Write(counter);
            }

            // Version 2 appends the repartition dedupe table; version 1 (the ten counters alone) is read as an empty table.
            writer.Write(SnapshotVersion);
            writer.Write(RepartitionDuplicates);
            writer.Write(_appliedSourceOffsets.Count);
            foreach (var (partition, offset) in _appliedSourceOffsets)
            {
                writer.Write(partition);
                writer.Write(offset);
            }
        }

        return buffer.ToArray();
    }

    /// <inheritdoc />
    public IReadOnlyCollection<KeyValuePair<string, byte[]?>> TakeChanges()
    {
        foreach (var slot in _changedWindows)
        {
            // A finished window recorded its deletions when it was dropped.
            if (_windows.TryGetValue(slot, out var window))
            {
                var delays = window.Aggregate.DelaysMs;
                var scores = window.Aggregate.Scores;
                if (delays.Count > window.WrittenDelays || scores.Count > window.WrittenScores)
                {
                    // Only what was appended since the last checkpoint: a window's lists are written once, in chunks.
                    _changes[ChunkKey(slot, window.Chunks)] = Encode(writer =>
                    {
                        writer.Write(slot.Time);
                        writer.Write(slot.Id);
                        writer.Write(window.Chunks);
                        QualityAggregate.WriteLists(writer, delays.GetRange(window.WrittenDelays, delays.Count - window.WrittenDelays), scores.GetRange(window.WrittenScores, scores.Count - window.WrittenScores));
                    });
                    window.Chunks++;
                    window.WrittenDelays = delays.Count;
                    window.WrittenScores = scores.Count;
                }

                _changes[WindowKey(slot)] = Encode(writer =>
                {
                    writer.Write(slot.Time);
                    writer.Write(slot.Id);
                    writer.Write(window.Pending);
                    writer.Write(window.Dirty);
                    writer.Write(window.Chunks);
                    window.Aggregate.WriteCountsTo(writer);
                });
            }
        }

        _changedWindows.Clear();
        var changes = _changes.ToList();
        _changes.Clear();
        return changes;
    }

    private void Restore(byte[] state)
    {
        using var reader = new BinaryReader(new MemoryStream(state, writable: false));
        StreamTime = reader.ReadInt64();
        _predictionTime = reader.ReadInt64();
        _lastTick = reader.ReadInt64();
        _lastFrontier = reader.ReadInt64();
        Malformed = reader.ReadInt64();
        Late = reader.ReadInt64();
        ErrorPredictions = reader.ReadInt64();
        Duplicates = reader.ReadInt64();
        LabelsUnknown = reader.ReadInt64();
        LabelsExpired = reader.ReadInt64();
        if (reader.BaseStream.Position == reader.BaseStream.Length)
        {
            return;
        }

        var version = reader.ReadInt32();
        if (version != SnapshotVersion)
        {
            throw new InvalidDataException($"Quality join snapshot version {version} is not {SnapshotVersion}.");
        }

        RepartitionDuplicates = reader.ReadInt64();
        for (var count = reader.ReadInt32(); count > 0; count--)
        {
            _appliedSourceOffsets[reader.ReadInt32()] = reader.ReadInt64();
        }
    }

    private void RestoreEntries(IReadOnlyDictionary<string, byte[]> entries)
    {
        var chunks = new List<((long Time, string Id) Slot, int Index, byte[] Value, int Lists)>();
        foreach (var (key, value) in entries)
        {
            using var reader = new BinaryReader(new MemoryStream(value, writable: false));
            var id = key[1..];
            switch (key[0])
            {
                case PendingPrefix:
                    var slot = (reader.ReadInt64(), reader.ReadString());
                    var eventTime = reader.ReadInt64();
                    var kind = (OutputKind)reader.ReadInt32();
                    var score = reader.ReadDouble();
                    var predictedClass = reader.ReadInt32();
                    _pending[id] = new PendingPrediction(slot, eventTime, kind, score, predictedClass == int.MinValue ? null : predictedClass);
                    _pendingByTime.Add((eventTime, id));
                    break;
                case LabelPrefix:
                    var label = new WaitingLabel(reader.ReadInt64(), reader.ReadDouble(), reader.ReadInt32(), reader.ReadInt64(), reader.ReadBytes(reader.ReadInt32()));
                    _waiting[id] = label;
                    _waitingByTime.Add((label.LabelTimeMs, id));
                    break;
                case ResolvedPrefix:
                    var status = (Resolution)reader.ReadByte();
                    var forgetAt = reader.ReadInt64();
                    _resolved[id] = (status, forgetAt);
                    _resolvedByTime.Add((forgetAt, id));
                    break;
                case WindowPrefix:
                    var windowSlot = (reader.ReadInt64(), reader.ReadString());
                    var window = new WindowState(windowSlot) { Pending = reader.ReadInt64(), Dirty = reader.ReadBoolean(), Chunks = reader.ReadInt32() };
                    window.Aggregate.MergeFrom(QualityAggregate.ReadCountsFrom(reader));
                    _windows[windowSlot] = window;
                    break;
                case ChunkPrefix:
                    chunks.Add(((reader.ReadInt64(), reader.ReadString()), reader.ReadInt32(), value, (int)reader.BaseStream.Position));
                    break;
                default:
                    throw new InvalidDataException($"Unknown quality changelog entry '{key}'.");
            }
        }

        // Lists in the order they grew: chunk by chunk.
        foreach (var chunk in chunks.OrderBy(c => c.Slot, ByTime).ThenBy(c => c.Index))
        {
            if (!_windows.TryGetValue(chunk.Slot, out var window) || chunk.Index >= window.Chunks)
            {
                throw new InvalidDataException($"Quality changelog chunk {chunk.Index} of window {chunk.Slot} has no window entry.");
            }

            using var reader = new BinaryReader(new MemoryStream(chunk.Value, chunk.Lists, chunk.Value.Length - chunk.Lists, writable: false));
            window.Aggregate.ReadListsFrom(reader);
        }

        foreach (var window in _windows.Values)
        {
            window.WrittenDelays = window.Aggregate.DelaysMs.Count;
            window.WrittenScores = window.Aggregate.Scores.Count;
        }
    }

    private void ProcessPrediction(ConsumeResult<byte[], byte[]> record, ITaskOutput output)
    {
        if (!_inputs.Prediction(record).TryGet(out var prediction, out var rejection))
        {
            if (_settings.RoutesMalformedPredictions)
            {
                Reject(record, rejection, output);
            }

            return;
        }

        var eventTime = prediction.EventTimeMs;
        StreamTime = Math.Max(StreamTime, eventTime);
        _predictionTime = Math.Max(_predictionTime, eventTime);
        Expire(output);
        var id = prediction.EventId;
        if (_pending.ContainsKey(id) || _resolved.ContainsKey(id))
        {
            Duplicates++;
            SendDeadLetter(output, _settings.Topics.DeadLetter, record, ReasonCodes.PredictionDuplicate, $"Prediction {id} was already seen; the first one is joined.", eventTime);
            return;
        }

        if (prediction.Status != PredictionStatus.OK)
        {
            // Error predictions have no output to judge: they are not part of quality windows (the latency topology
            // counts them); their labels are dead-lettered.
            ErrorPredictions++;
            Resolve(id, Resolution.Error, eventTime);
            if (RemoveWaiting(id) is { } early)
            {
                SendLabelDeadLetter(output, id, early, ReasonCodes.LabelErrorPrediction, "The prediction failed (status ERROR); it has no output to judge.");
            }

            return;
        }

        var start = _settings.Window.LastWindowStart(eventTime);
        if (_settings.Window.IsClosed(start, _settings.GraceMs, _predictionTime))
        {
            Late++;
            _settings.Metrics?.Late(record.Topic);
            SendDeadLetter(output, _settings.Topics.LateEvents, record, ReasonCodes.Late, $"Event time {eventTime} is past the close (end + grace {_settings.GraceMs} ms) of its {_settings.Window.Label} quality window; prediction stream time {_predictionTime}.", eventTime);
            return;
        }

        var slot = (start, prediction.ModelName + Identifiers.KeySeparator + prediction.ModelVersion);
        if (!_windows.TryGetValue(slot, out var window))
        {
            window = new WindowState(slot);
            _windows[slot] = window;
        }

        window.Aggregate.Predictions++;
        window.Pending++;
        window.Dirty = true;
        _changedWindows.Add(slot);
        var pending = new PendingPrediction(slot, eventTime, prediction.OutputKind, prediction.Score ?? double.NaN, prediction.PredictedClass);
        if (RemoveWaiting(id) is { } label)
        {
            Join(id, pending, label, output);
        }
        else
        {
            AddPending(id, pending);
        }
    }

    private void ProcessLabel(ConsumeResult<byte[], byte[]> record, ITaskOutput output)
    {
        // A record without the repartition headers (read from the labels topic itself) is its own source.
        var (sourcePartition, sourceOffset) = LabelRepartitioner.SourceOf(record) ?? (record.Partition.Value, record.Offset.Value);
        if (_appliedSourceOffsets.TryGetValue(sourcePartition, out var applied) && sourceOffset <= applied)
        {
            RepartitionDuplicates++;
            return;
        }

        _appliedSourceOffsets[sourcePartition] = sourceOffset;
        if (!_inputs.Label(record).TryGet(out var label, out var rejection))
        {
            // Only a label read from the labels topic itself can be rejected here: the repartition step forwards valid
            // labels alone, with their timestamps, after dead-lettering the others once.
            Reject(record, rejection, output);
            return;
        }

        StreamTime = Math.Max(StreamTime, label.LabelTimeMs);
        Expire(output);
        var id = label.EventId;
        var waiting = new WaitingLabel(label.LabelTimeMs, label.Value, sourcePartition, sourceOffset, record.Message.Value);
        if (RemovePending(id) is { } prediction)
        {
            Join(id, prediction, waiting, output);
        }
        else if (_resolved.TryGetValue(id, out var resolved))
        {
            var (code, reason) = resolved.Status switch
            {
                Resolution.Joined => (ReasonCodes.LabelDuplicate, "A label for this prediction was already joined (the first wins)."),
                Resolution.Expired => (ReasonCodes.LabelExpired, "The prediction expired unlabeled (label horizon passed)."),
                _ => (ReasonCodes.LabelErrorPrediction, "The prediction failed (status ERROR); it has no output to judge."),
            };
            Count(code);
            SendLabelDeadLetter(output, id, waiting, code, reason);
        }
        else if (_waiting.ContainsKey(id))
        {
            Count(ReasonCodes.LabelDuplicate);
            SendLabelDeadLetter(output, id, waiting, ReasonCodes.LabelDuplicate, "A label for this event id is already waiting (the first wins).");
        }
        else
        {
            _waiting[id] = waiting;
            _waitingByTime.Add((label.LabelTimeMs, id));
            _changes[LabelPrefix + id] = Encode(writer =>
            {
                writer.Write(waiting.LabelTimeMs);
                writer.Write(waiting.Value);
                writer.Write(waiting.Partition);
                writer.Write(waiting.Offset);
                writer.Write(waiting.Payload.Length);
                writer.Write(waiting.Payload);
            });
        }
    }

    private void Count(string code)
    {
        switch (code)
        {
            case ReasonCodes.LabelDuplicate:
                Duplicates++;
                break;
            case ReasonCodes.LabelExpired:
                LabelsExpired++;
                break;
            case ReasonCodes.LabelUnknownPrediction:
                LabelsUnknown++;
                break;
            default:
                break;
        }
    }

    private void Join(string id, PendingPrediction prediction, WaitingLabel label, ITaskOutput output)
    {
        var window = _windows[prediction.Window];
        if (prediction.Kind == OutputKind.BINARY_PROBABILITY && label.Value is not (0.0 or 1.0))
        {
            // Counted like an unknown label; the prediction stays joinable for a valid one.
            Malformed++;
            SendLabelDeadLetter(output, id, label, ReasonCodes.InvalidValue, $"Binary model: label {label.Value.ToString(CultureInfo.InvariantCulture)} is neither 0 nor 1.");
            AddPending(id, prediction);
            return;
        }

        window.Aggregate.AddLabeled(prediction.Kind, prediction.Score, prediction.PredictedClass, label.Value, label.LabelTimeMs - prediction.EventTimeMs);
        _changedWindows.Add(window.Slot);
        Resolve(id, Resolution.Joined, prediction.EventTimeMs);
        Settle(window, output);
    }

    private void Settle(WindowState window, ITaskOutput output)
    {
        window.Pending--;
        window.Dirty = true;
        _changedWindows.Add(window.Slot);
        if (window.Pending == 0 && IsClosed(window))
        {
            Finish(window, output);
            PublishFrontier(output);
        }
    }

    private void Resolve(string id, Resolution status, long predictionTimeMs)
    {
        // Remembered for another horizon after the prediction's own horizon, to classify late labels.
        var forgetAt = Saturating.Add(predictionTimeMs, _settings.LabelHorizonMs, _settings.LabelHorizonMs);
        _resolved[id] = (status, forgetAt);
        _resolvedByTime.Add((forgetAt, id));
        _changes[ResolvedPrefix + id] = Encode(writer =>
        {
            writer.Write((byte)status);
            writer.Write(forgetAt);
        });
    }

    private void AddPending(string id, PendingPrediction prediction)
    {
        _pending[id] = prediction;
        _pendingByTime.Add((prediction.EventTimeMs, id));
        _changes[PendingPrefix + id] = Encode(writer =>
        {
            writer.Write(prediction.Window.Time);
            writer.Write(prediction.Window.Id);
            writer.Write(prediction.EventTimeMs);
            writer.Write((int)prediction.Kind);
            writer.Write(prediction.Score);
            writer.Write(prediction.PredictedClass ?? int.MinValue);
        });
    }

    private PendingPrediction? RemovePending(string id)
    {
        if (!_pending.Remove(id, out var prediction))
        {
            return null;
        }

        _pendingByTime.Remove((prediction.EventTimeMs, id));
        _changes[PendingPrefix + id] = null;
        return prediction;
    }

    private WaitingLabel? RemoveWaiting(string id)
    {
        if (!_waiting.Remove(id, out var label))
        {
            return null;
        }

        _waitingByTime.Remove((label.LabelTimeMs, id));
        _changes[LabelPrefix + id] = null;
        return label;
    }

    private static byte[] Encode(Action<BinaryWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer))
        {
            write(writer);
        }

        return buffer.ToArray();
    }

    private static string WindowKey((long Time, string Id) slot) => string.Create(CultureInfo.InvariantCulture, $"{WindowPrefix}{slot.Time}|{slot.Id}");

    private static string ChunkKey((long Time, string Id) slot, int chunk) => string.Create(CultureInfo.InvariantCulture, $"{ChunkPrefix}{slot.Time}|{slot.Id}#{chunk}");

    private void Expire(ITaskOutput output)
    {
        while (_pendingByTime.Count > 0 && Saturating.Add(_pendingByTime.Min.Time, _settings.LabelHorizonMs) < StreamTime)
        {
            var (time, id) = _pendingByTime.Min;
            var prediction = RemovePending(id)!;
            var window = _windows[prediction.Window];
            window.Aggregate.AddExpired();
            Resolve(id, Resolution.Expired, time);
            Settle(window, output);
        }

        while (_waitingByTime.Count > 0 && Saturating.Add(_waitingByTime.Min.Time, _settings.LabelHorizonMs) < StreamTime)
        {
            var id = _waitingByTime.Min.Id;
            var label = RemoveWaiting(id);
            Count(ReasonCodes.LabelUnknownPrediction);
            SendLabelDeadLetter(output, id, label!, ReasonCodes.LabelUnknownPrediction, $"No prediction for this event id within the label horizon ({_settings.LabelHorizonMs} ms).");
        }

        while (_resolvedByTime.Count > 0 && _resolvedByTime.Min.Time < StreamTime)
        {
            var entry = _resolvedByTime.Min;
            _resolvedByTime.Remove(entry);
            _resolved.Remove(entry.Id);
            _changes[ResolvedPrefix + entry.Id] = null;
        }
    }

    /// <summary>Finishes the closed windows with nothing pending and emits the other closed windows that changed.</summary>
    private void FlushClosedWindows(ITaskOutput output)
    {
        foreach (var window in _windows.Values.ToList())
        {
            if (IsClosed(window) && window.Pending == 0)
            {
                Finish(window, output);
            }
            else if (IsClosed(window) && window.Dirty)
            {
                EmitPartial(window, final: false, output);
            }
        }

        PublishFrontier(output);
    }

    private bool IsClosed(WindowState window) => _settings.Window.IsClosed(window.Slot.Time, _settings.GraceMs, _predictionTime);

    private void Finish(WindowState window, ITaskOutput output)
    {
        EmitPartial(window, final: true, output);
        _windows.Remove(window.Slot);
        _changes[WindowKey(window.Slot)] = null;
        for (var chunk = 0; chunk < window.Chunks; chunk++)
        {
            _changes[ChunkKey(window.Slot, chunk)] = null;
        }
    }

    private void EmitPartial(WindowState window, bool final, ITaskOutput output)
    {
        var separator = window.Slot.Id.IndexOf('|', StringComparison.Ordinal);
        var key = new WindowKey(WindowKind.Quality, window.Slot.Id[..separator], window.Slot.Id[(separator + 1)..], window.Slot.Time, _settings.Window.SizeMs);
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer))
        {
            window.Aggregate.WriteTo(writer);
        }

        var partition = Murmur2.Partition(PartialRecords.RoutingKey(key), _settings.Topics.ResultPartitions);
        output.Send(_settings.Topics.WindowPartials, partition, PartialRecords.PartialKey(key, _sourceId), PartialRecords.PartialValue(key, _sourceId, final, buffer.ToArray()));
        window.Dirty = false;
        _changedWindows.Add(window.Slot);
        _settings.Metrics?.PartialEmitted(WindowKind.Quality, final);
    }

    private void PublishFrontier(ITaskOutput output)
    {
        // Every window before the frontier is final here: no partial of it will ever come from this source again.
        var frontier = _predictionTime;
        if (_windows.Count > 0)
        {
            frontier = Math.Min(frontier, Saturating.Add(_windows.First().Key.Time, _settings.Window.SizeMs + _settings.GraceMs, -1));
        }

        if (frontier <= _lastFrontier)
        {
            return;
        }

        _lastFrontier = frontier;
        var key = PartialRecords.WatermarkKey(_sourceId);
        var value = PartialRecords.WatermarkValue(_sourceId, frontier);
        for (var p = 0; p < _settings.Topics.ResultPartitions; p++)
        {
            output.Send(_settings.Topics.WindowPartials, p, key, value);
        }
    }

    private void Reject(ConsumeResult<byte[], byte[]> record, Rejection rejection, ITaskOutput output)
    {
        Malformed++;
        _settings.Metrics?.Rejected(record.Topic, rejection.ReasonCode);
        SendDeadLetter(output, _settings.Topics.DeadLetter, record, rejection.ReasonCode, rejection.Detail, rejection.EventTimeMs);
    }

    private void SendLabelDeadLetter(ITaskOutput output, string id, WaitingLabel label, string code, string reason) =>
        Send(output, _settings.Topics.DeadLetter, TaskState.DeadLetter(_codec, _settings.Topics.Labels, label.Partition, label.Offset, Encoding.UTF8.GetBytes(id), label.Payload, code, reason, label.LabelTimeMs, StreamTime), code);

    private void SendDeadLetter(ITaskOutput output, string topic, ConsumeResult<byte[], byte[]> record, string code, string reason, long? eventTime) =>
        Send(output, topic, TaskState.DeadLetter(_codec, record, code, reason, eventTime, StreamTime), code);

    private void Send(ITaskOutput output, string topic, (byte[] Key, byte[] Value) letter, string code)
    {
        // Observed at the stream time, not the wall clock: a replay writes the same envelope.
        output.Send(topic, null, letter.Key, letter.Value);
        if (topic == _settings.Topics.DeadLetter)
        {
            _settings.Metrics?.DeadLetter(code);
        }
    }

    private sealed record PendingPrediction((long Time, string Id) Window, long EventTimeMs, OutputKind Kind, double Score, int? PredictedClass);

    private sealed record WaitingLabel(long LabelTimeMs, double Value, int Partition, long Offset, byte[] Payload);

    private sealed class WindowState((long Time, string Id) slot)
    {
        public (long Time, string Id) Slot { get; } = slot;

        public QualityAggregate Aggregate { get; } = new();

        public long Pending { get; set; }

        public bool Dirty { get; set; }

        /// <summary>List chunks written to the changelog.</summary>
        public int Chunks { get; set; }

        /// <summary>Label delays already in written chunks.</summary>
        public int WrittenDelays { get; set; }

        /// <summary>Scores already in written chunks.</summary>
        public int WrittenScores { get; set; }
    }
}
