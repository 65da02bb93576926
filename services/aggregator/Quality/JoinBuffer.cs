using StreamMonitor.Contracts;
using StreamMonitor.Streams;

namespace StreamMonitor.Aggregator.Quality;

/// <summary>How a prediction left the join buffer; remembered for another horizon to classify late labels.</summary>
public enum JoinResolution : byte
{
    /// <summary>Its label was joined.</summary>
    Joined,

    /// <summary>It expired unlabeled.</summary>
    Expired,

    /// <summary>An error prediction: not joinable.</summary>
    Error,
}

/// <summary>An OK prediction waiting for its label.</summary>
/// <param name="Window">Its quality window: (start, "model|version").</param>
/// <param name="EventTimeMs">Its event time.</param>
/// <param name="Kind">The model's output kind.</param>
/// <param name="Score">Its score (NaN when none).</param>
/// <param name="PredictedClass">Its class, for a multiclass model.</param>
public sealed record PendingPrediction((long Time, string Id) Window, long EventTimeMs, OutputKind Kind, double Score, int? PredictedClass);

/// <summary>A label waiting for its prediction, with the coordinates and bytes its dead letter names.</summary>
/// <param name="LabelTimeMs">Its label time.</param>
/// <param name="Value">The label value.</param>
/// <param name="Partition">Its labels-topic partition (the source partition when repartitioned).</param>
/// <param name="Offset">Its labels-topic offset (the source offset when repartitioned).</param>
/// <param name="Payload">The record's bytes, for its dead letter.</param>
public sealed record WaitingLabel(long LabelTimeMs, double Value, int Partition, long Offset, byte[] Payload);

/// <summary>
/// The quality join's buffer: pending predictions, waiting labels and resolved ids, each indexed by time for expiry
/// (a prediction or a label waits up to the label horizon of task stream time; a resolved id is remembered one horizon
/// more). Every change is recorded as a changelog entry (<see cref="QualityChangelogCodec"/>) in the shared
/// <paramref name="changes"/>, so a checkpoint writes only what changed.
/// </summary>
internal sealed class JoinBuffer(long labelHorizonMs, Dictionary<string, byte[]?> changes)
{
    private static readonly Comparer<(long Time, string Id)> ByTime = QualityChangelogCodec.ByTime;

    private readonly Dictionary<string, PendingPrediction> _pending = new(StringComparer.Ordinal);
    private readonly SortedSet<(long Time, string Id)> _pendingByTime = new(ByTime);
    private readonly Dictionary<string, WaitingLabel> _waiting = new(StringComparer.Ordinal);
    private readonly SortedSet<(long Time, string Id)> _waitingByTime = new(ByTime);
    private readonly Dictionary<string, (JoinResolution Status, long ForgetAt)> _resolved = new(StringComparer.Ordinal);
    private readonly SortedSet<(long Time, string Id)> _resolvedByTime = new(ByTime);

    /// <summary>Predictions waiting for a label plus labels waiting for a prediction.</summary>
    public int Count => _pending.Count + _waiting.Count;

    /// <summary>True when a prediction with this id is pending or was resolved (a duplicate prediction).</summary>
    public bool HasPrediction(string id) => _pending.ContainsKey(id) || _resolved.ContainsKey(id);

    /// <summary>True when a label for this id is waiting.</summary>
    public bool IsWaiting(string id) => _waiting.ContainsKey(id);

    /// <summary>How the prediction of this id was resolved, when it was (and is still remembered).</summary>
    public JoinResolution? ResolutionOf(string id) => _resolved.TryGetValue(id, out var resolved) ? resolved.Status : null;

    /// <summary>Remembers how a prediction was resolved, for another horizon after its own.</summary>
    public void Resolve(string id, JoinResolution status, long predictionTimeMs)
    {
        var forgetAt = Saturating.Add(predictionTimeMs, labelHorizonMs, labelHorizonMs);
        _resolved[id] = (status, forgetAt);
        _resolvedByTime.Add((forgetAt, id));
        changes[QualityChangelogCodec.ResolvedKey(id)] = QualityChangelogCodec.EncodeResolved(status, forgetAt);
    }

    /// <summary>Adds a prediction waiting for its label.</summary>
    public void AddPending(string id, PendingPrediction prediction)
    {
        _pending[id] = prediction;
        _pendingByTime.Add((prediction.EventTimeMs, id));
        changes[QualityChangelogCodec.PendingKey(id)] = QualityChangelogCodec.EncodePending(prediction);
    }

    /// <summary>Removes and returns the pending prediction of this id, if any.</summary>
    public PendingPrediction? RemovePending(string id)
    {
        if (!_pending.Remove(id, out var prediction))
        {
            return null;
        }

        _pendingByTime.Remove((prediction.EventTimeMs, id));
        changes[QualityChangelogCodec.PendingKey(id)] = null;
        return prediction;
    }

    /// <summary>Adds a label waiting for its prediction.</summary>
    public void AddWaiting(string id, WaitingLabel label)
    {
        _waiting[id] = label;
        _waitingByTime.Add((label.LabelTimeMs, id));
        changes[QualityChangelogCodec.LabelKey(id)] = QualityChangelogCodec.EncodeLabel(label);
    }

    /// <summary>Removes and returns the waiting label of this id, if any.</summary>
    public WaitingLabel? RemoveWaiting(string id)
    {
        if (!_waiting.Remove(id, out var label))
        {
            return null;
        }

        _waitingByTime.Remove((label.LabelTimeMs, id));
        changes[QualityChangelogCodec.LabelKey(id)] = null;
        return label;
    }

    /// <summary>Removes the earliest pending prediction whose horizon has passed at <paramref name="streamTimeMs"/>.</summary>
    public bool TryExpirePending(long streamTimeMs, out string id, out PendingPrediction prediction)
    {
        if (_pendingByTime.Count > 0 && Saturating.Add(_pendingByTime.Min.Time, labelHorizonMs) < streamTimeMs)
        {
            id = _pendingByTime.Min.Id;
            prediction = RemovePending(id)!;
            return true;
        }

        (id, prediction) = (string.Empty, null!);
        return false;
    }

    /// <summary>Removes the earliest waiting label whose horizon has passed at <paramref name="streamTimeMs"/>.</summary>
    public bool TryExpireWaiting(long streamTimeMs, out string id, out WaitingLabel label)
    {
        if (_waitingByTime.Count > 0 && Saturating.Add(_waitingByTime.Min.Time, labelHorizonMs) < streamTimeMs)
        {
            id = _waitingByTime.Min.Id;
            label = RemoveWaiting(id)!;
            return true;
        }

        (id, label) = (string.Empty, null!);
        return false;
    }

    /// <summary>Forgets the resolved ids remembered long enough at <paramref name="streamTimeMs"/>.</summary>
    public void ForgetResolved(long streamTimeMs)
    {
        while (_resolvedByTime.Count > 0 && _resolvedByTime.Min.Time < streamTimeMs)
        {
            var entry = _resolvedByTime.Min;
            _resolvedByTime.Remove(entry);
            _resolved.Remove(entry.Id);
            changes[QualityChangelogCodec.ResolvedKey(entry.Id)] = null;
        }
    }

    /// <summary>Restores one changelog entry of the buffer; false when the key is not one of its kinds.</summary>
    public bool Restore(string key, byte[] value)
    {
        var id = key[1..];
        switch (key[0])
        {
            case QualityChangelogCodec.PendingPrefix:
                var prediction = QualityChangelogCodec.DecodePending(value);
                _pending[id] = prediction;
                _pendingByTime.Add((prediction.EventTimeMs, id));
                return true;
            case QualityChangelogCodec.LabelPrefix:
                var label = QualityChangelogCodec.DecodeLabel(value);
                _waiting[id] = label;
                _waitingByTime.Add((label.LabelTimeMs, id));
                return true;
            case QualityChangelogCodec.ResolvedPrefix:
                var (status, forgetAt) = QualityChangelogCodec.DecodeResolved(value);
                _resolved[id] = (status, forgetAt);
                _resolvedByTime.Add((forgetAt, id));
                return true;
            default:
                return false;
        }
    }
}
