using System.Globalization;
using Confluent.Kafka;
using StreamMonitor.Aggregator.Topology;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.Validation;
using StreamMonitor.Kafka;
using StreamMonitor.Streams;

namespace StreamMonitor.Aggregator.Quality;

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
public sealed partial class QualityJoinTask : IChangelogTask
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

        if (_settings.Window.IsLate(eventTime, _predictionTime))
        {
            Late++;
            _settings.Metrics?.Late(record.Topic);
            SendDeadLetter(output, _settings.Topics.LateEvents, record, ReasonCodes.Late, $"Event time {eventTime} is past the close (end + grace {_settings.Window.GraceMs} ms) of its {_settings.Window.Label} quality window; prediction stream time {_predictionTime}.", eventTime);
            return;
        }

        var slot = (_settings.Window.LastWindowStart(eventTime), prediction.ModelName + Identifiers.KeySeparator + prediction.ModelVersion);
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
}
