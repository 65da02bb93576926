using Confluent.Kafka;
using StreamMonitor.Aggregator.Topology;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.State;
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
/// The parts: <see cref="QualityJoin"/> (the join over accepted records), <see cref="JoinBuffer"/> (what waits to be
/// joined), <see cref="QualityWindows"/> (windows, partials, frontier), <see cref="QualityDeadLetters"/> (what is routed
/// away) and <see cref="QualityChangelogCodec"/> (checkpoint and changelog formats); this type reads the records and
/// coordinates them.
/// Predictions and labels are read through the record policy (<see cref="InputRecords"/>): a rejected record (an
/// implausible event or label time among others) moves neither stream time. Horizon and close arithmetic saturates.
/// A label the repartition step produced again after a crash is dropped by its source coordinates (per labels-topic
/// partition the highest source offset applied, in the snapshot); dead letters of labels name those coordinates.
/// </summary>
public sealed class QualityJoinTask : IChangelogTask
{
    private readonly QualitySettings _settings;
    private readonly InputRecords _inputs;
    private readonly Dictionary<string, byte[]?> _changes = new(StringComparer.Ordinal);
    private readonly JoinProgress _progress;
    private readonly JoinBuffer _buffer;
    private readonly QualityWindows _windows;
    private readonly QualityDeadLetters _deadLetters;
    private readonly QualityJoin _join;

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
        _progress = state is null ? new JoinProgress() : QualityChangelogCodec.DecodeSnapshot(state);
        _buffer = new JoinBuffer(settings.LabelHorizonMs, _changes);
        _windows = new QualityWindows(settings, SourceOf(settings.Topics, partition), _progress, _changes);
        _deadLetters = new QualityDeadLetters(settings, codec, _progress);
        _join = new QualityJoin(settings, _progress, _buffer, _windows, _deadLetters);
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

        _join.Expire(output);
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
        if (_inputs.Prediction(record).TryGet(out var prediction, out var rejection))
        {
            _join.AddPrediction(prediction, record, output);
        }
        else if (_settings.RoutesMalformedPredictions)
        {
            _deadLetters.Reject(record, rejection, output);
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
        if (_inputs.Label(record).TryGet(out var label, out var rejection))
        {
            _join.AddLabel(label, sourcePartition, sourceOffset, record.Message.Value, output);
        }
        else
        {
            // Only a label read from the labels topic itself can be rejected here: the repartition step forwards valid
            // labels alone, with their timestamps, after dead-lettering the others once.
            _deadLetters.Reject(record, rejection, output);
        }
    }
}
