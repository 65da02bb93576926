using System.Globalization;
using System.Text;
using Confluent.Kafka;
using StreamMonitor.Aggregator.Topology;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.State;
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
/// The parts: <see cref="JoinBuffer"/> (what waits to be joined), <see cref="QualityWindows"/> (windows, partials,
/// frontier) and <see cref="QualityChangelogCodec"/> (checkpoint and changelog formats); this type coordinates them.
/// Predictions and labels are read through the record policy (<see cref="InputRecords"/>): a rejected record (an
/// implausible event or label time among others) moves neither stream time. Horizon and close arithmetic saturates.
/// A label the repartition step produced again after a crash is dropped by its source coordinates (per labels-topic
/// partition the highest source offset applied, in the snapshot); dead letters of labels name those coordinates.
/// </summary>
public sealed class QualityJoinTask : IChangelogTask
{
    private readonly QualitySettings _settings;
    private readonly InputRecords _inputs;
    private readonly EventCodec _codec;
    private readonly Dictionary<string, byte[]?> _changes = new(StringComparer.Ordinal);
    private readonly JoinProgress _progress;
    private readonly JoinBuffer _buffer;
    private readonly QualityWindows _windows;

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
        _progress = state is null ? new JoinProgress() : QualityChangelogCodec.DecodeSnapshot(state);
        _buffer = new JoinBuffer(settings.LabelHorizonMs, _changes);
        _windows = new QualityWindows(settings, SourceOf(settings.Topics, partition), _progress, _changes);
        foreach (var (key, value) in changelog)
        {
            if (!_buffer.Restore(key, value) && !_windows.Restore(key, value))
            {
                throw new InvalidDataException($"Unknown quality changelog entry '{key}'.");
            }
        }

        _windows.CompleteRestore();
    }

    /// <summary>Source id of partition <paramref name="partition"/> in the merge ("labels:p": only this topology reads labels).</summary>
    public static string SourceOf(TopicCatalog topics, int partition)
    {
        ArgumentNullException.ThrowIfNull(topics);
        return PartialRecords.SourceOf(topics.Labels, partition);
    }

    /// <inheritdoc />
    public long StreamTime => _progress.StreamTime;

    /// <summary>
    /// The prediction stream time: the idle rule compares predictions with predictions. Label times lead prediction
    /// times by the label delay, and labels keep arriving while the scorer is slow to start or catching up; had they
    /// counted, a partition whose predictions were merely behind would look idle and its own predictions turn late.
    /// </summary>
    public long ProgressTime => _progress.PredictionTime;

    /// <summary>Records the record policy rejected (dead-lettered) and labels of a binary model that are neither 0 nor 1.</summary>
    public long Malformed => _progress.Malformed;

    /// <summary>Predictions whose window had closed (late-events topic).</summary>
    public long Late => _progress.Late;

    /// <summary>Error predictions (not joinable; their labels are dead-lettered LABEL_ERROR_PREDICTION).</summary>
    public long ErrorPredictions => _progress.ErrorPredictions;

    /// <summary>Duplicate labels (first wins) and duplicate prediction ids, dead-lettered.</summary>
    public long Duplicates => _progress.Duplicates;

    /// <summary>Labels whose prediction never arrived within the horizon (LABEL_UNKNOWN_PREDICTION).</summary>
    public long LabelsUnknown => _progress.LabelsUnknown;

    /// <summary>Labels whose prediction had expired unlabeled (LABEL_EXPIRED).</summary>
    public long LabelsExpired => _progress.LabelsExpired;

    /// <summary>Labels the repartition step produced again after a crash (dropped: their original was applied).</summary>
    public long RepartitionDuplicates => _progress.RepartitionDuplicates;

    /// <summary>Predictions waiting for a label plus labels waiting for a prediction (state size).</summary>
    public int Waiting => _buffer.Count;

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
        if (tick > _progress.LastTick)
        {
            _progress.LastTick = tick;
            _windows.FlushClosed(output);
        }
    }

    /// <inheritdoc />
    public void OnIdle(long watermarkMs, ITaskOutput output)
    {
        ArgumentNullException.ThrowIfNull(output);
        _windows.OnIdle(watermarkMs, output);
    }

    /// <inheritdoc />
    public byte[] Snapshot() => QualityChangelogCodec.Instance.Encode(_progress);

    /// <inheritdoc />
    public IReadOnlyCollection<KeyValuePair<string, byte[]?>> TakeChanges()
    {
        _windows.TakeChanges();
        var changes = _changes.ToList();
        _changes.Clear();
        return changes;
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
        _progress.StreamTime = Math.Max(StreamTime, eventTime);
        _progress.PredictionTime = Math.Max(_progress.PredictionTime, eventTime);
        Expire(output);
        var id = prediction.EventId;
        if (_buffer.HasPrediction(id))
        {
            _progress.Duplicates++;
            SendDeadLetter(output, _settings.Topics.DeadLetter, record, ReasonCodes.PredictionDuplicate, $"Prediction {id} was already seen; the first one is joined.", eventTime);
            return;
        }

        if (prediction.Status != PredictionStatus.OK)
        {
            // Error predictions have no output to judge: they are not part of quality windows (the latency topology
            // counts them); their labels are dead-lettered.
            _progress.ErrorPredictions++;
            _buffer.Resolve(id, JoinResolution.Error, eventTime);
            if (_buffer.RemoveWaiting(id) is { } early)
            {
                SendLabelDeadLetter(output, id, early, ReasonCodes.LabelErrorPrediction, "The prediction failed (status ERROR); it has no output to judge.");
            }

            return;
        }

        if (_settings.Window.IsLate(eventTime, _progress.PredictionTime))
        {
            _progress.Late++;
            _settings.Metrics?.Late(record.Topic);
            SendDeadLetter(output, _settings.Topics.LateEvents, record, ReasonCodes.Late, $"Event time {eventTime} is past the close (end + grace {_settings.Window.GraceMs} ms) of its {_settings.Window.Label} quality window; prediction stream time {_progress.PredictionTime}.", eventTime);
            return;
        }

        var window = _windows.Open((_settings.Window.LastWindowStart(eventTime), new ModelKey(prediction.ModelName, prediction.ModelVersion).ToString()));
        window.Aggregate.Predictions++;
        window.Pending++;
        _windows.Touch(window);
        var pending = new PendingPrediction(window.Slot, eventTime, prediction.OutputKind, prediction.Score ?? double.NaN, prediction.PredictedClass);
        if (_buffer.RemoveWaiting(id) is { } label)
        {
            Join(id, pending, label, output);
        }
        else
        {
            _buffer.AddPending(id, pending);
        }
    }

    private void ProcessLabel(ConsumeResult<byte[], byte[]> record, ITaskOutput output)
    {
        // A record without the repartition headers (read from the labels topic itself) is its own source.
        var (sourcePartition, sourceOffset) = LabelRepartitioner.SourceOf(record) ?? (record.Partition.Value, record.Offset.Value);
        if (_progress.AppliedSourceOffsets.TryGetValue(sourcePartition, out var applied) && sourceOffset <= applied)
        {
            _progress.RepartitionDuplicates++;
            return;
        }

        _progress.AppliedSourceOffsets[sourcePartition] = sourceOffset;
        if (!_inputs.Label(record).TryGet(out var label, out var rejection))
        {
            // Only a label read from the labels topic itself can be rejected here: the repartition step forwards valid
            // labels alone, with their timestamps, after dead-lettering the others once.
            Reject(record, rejection, output);
            return;
        }

        _progress.StreamTime = Math.Max(StreamTime, label.LabelTimeMs);
        Expire(output);
        var id = label.EventId;
        var waiting = new WaitingLabel(label.LabelTimeMs, label.Value, sourcePartition, sourceOffset, record.Message.Value);
        if (_buffer.RemovePending(id) is { } prediction)
        {
            Join(id, prediction, waiting, output);
            return;
        }

        switch (_buffer.ResolutionOf(id))
        {
            case JoinResolution.Joined:
                _progress.Duplicates++;
                SendLabelDeadLetter(output, id, waiting, ReasonCodes.LabelDuplicate, "A label for this prediction was already joined (the first wins).");
                break;
            case JoinResolution.Expired:
                _progress.LabelsExpired++;
                SendLabelDeadLetter(output, id, waiting, ReasonCodes.LabelExpired, "The prediction expired unlabeled (label horizon passed).");
                break;
            case JoinResolution.Error:
                SendLabelDeadLetter(output, id, waiting, ReasonCodes.LabelErrorPrediction, "The prediction failed (status ERROR); it has no output to judge.");
                break;
            case null when _buffer.IsWaiting(id):
                _progress.Duplicates++;
                SendLabelDeadLetter(output, id, waiting, ReasonCodes.LabelDuplicate, "A label for this event id is already waiting (the first wins).");
                break;
            default:
                _buffer.AddWaiting(id, waiting);
                break;
        }
    }

    private void Join(string id, PendingPrediction prediction, WaitingLabel label, ITaskOutput output)
    {
        var window = _windows[prediction.Window];
        if (prediction.Kind == OutputKind.BINARY_PROBABILITY && label.Value is not (0.0 or 1.0))
        {
            // Counted like an unknown label; the prediction stays joinable for a valid one.
            _progress.Malformed++;
            SendLabelDeadLetter(output, id, label, ReasonCodes.InvalidValue, $"Binary model: label {label.Value.ToString(CultureInfo.InvariantCulture)} is neither 0 nor 1.");
            _buffer.AddPending(id, prediction);
            return;
        }

        window.Aggregate.AddLabeled(prediction.Kind, prediction.Score, prediction.PredictedClass, label.Value, label.LabelTimeMs - prediction.EventTimeMs);
        _buffer.Resolve(id, JoinResolution.Joined, prediction.EventTimeMs);
        _windows.Settle(window, output);
    }

    private void Expire(ITaskOutput output)
    {
        while (_buffer.TryExpirePending(StreamTime, out var id, out var prediction))
        {
            var window = _windows[prediction.Window];
            window.Aggregate.AddExpired();
            _buffer.Resolve(id, JoinResolution.Expired, prediction.EventTimeMs);
            _windows.Settle(window, output);
        }

        while (_buffer.TryExpireWaiting(StreamTime, out var id, out var label))
        {
            _progress.LabelsUnknown++;
            SendLabelDeadLetter(output, id, label, ReasonCodes.LabelUnknownPrediction, $"No prediction for this event id within the label horizon ({_settings.LabelHorizonMs} ms).");
        }

        _buffer.ForgetResolved(StreamTime);
    }

    private void Reject(ConsumeResult<byte[], byte[]> record, Rejection rejection, ITaskOutput output)
    {
        _progress.Malformed++;
        _settings.Metrics?.Rejected(record.Topic, rejection.ReasonCode);
        SendDeadLetter(output, _settings.Topics.DeadLetter, record, rejection.ReasonCode, rejection.Detail, rejection.EventTimeMs);
    }

    // Observed at the stream time, not the wall clock: a replay writes the same envelope.
    private void SendLabelDeadLetter(ITaskOutput output, string id, WaitingLabel label, string code, string reason) =>
        Send(output, _settings.Topics.DeadLetter, TaskState.DeadLetter(_codec, _settings.Topics.Labels, label.Partition, label.Offset, Encoding.UTF8.GetBytes(id), label.Payload, code, reason, label.LabelTimeMs, StreamTime), code);

    private void SendDeadLetter(ITaskOutput output, string topic, ConsumeResult<byte[], byte[]> record, string code, string reason, long? eventTime) =>
        Send(output, topic, TaskState.DeadLetter(_codec, record, code, reason, eventTime, StreamTime), code);

    private void Send(ITaskOutput output, string topic, (byte[] Key, byte[] Value) letter, string code)
    {
        output.Send(topic, null, letter.Key, letter.Value);
        if (topic == _settings.Topics.DeadLetter)
        {
            _settings.Metrics?.DeadLetter(code);
        }
    }
}
