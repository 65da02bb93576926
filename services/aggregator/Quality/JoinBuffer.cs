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
    private readonly TimedMap<PendingPrediction> _pending = new(p => p.EventTimeMs);
    private readonly TimedMap<WaitingLabel> _waiting = new(l => l.LabelTimeMs);
    private readonly TimedMap<(JoinResolution Status, long ForgetAt)> _resolved = new(r => r.ForgetAt);

    /// <summary>Predictions waiting for a label plus labels waiting for a prediction.</summary>
    public int Count => _pending.Count + _waiting.Count;

    /// <summary>True when a prediction with this id is pending or was resolved (a duplicate prediction).</summary>
    public bool HasPrediction(string id) => _pending.Contains(id) || _resolved.Contains(id);

    /// <summary>True when a label for this id is waiting.</summary>
    public bool IsWaiting(string id) => _waiting.Contains(id);

    /// <summary>How the prediction of this id was resolved, when it was (and is still remembered).</summary>
    public JoinResolution? ResolutionOf(string id) => _resolved.TryGet(id, out var resolved) ? resolved.Status : null;

    /// <summary>Remembers how a prediction was resolved, for another horizon after its own.</summary>
    public void Resolve(string id, JoinResolution status, long predictionTimeMs)
    {
        var forgetAt = Saturating.Add(predictionTimeMs, labelHorizonMs, labelHorizonMs);
        _resolved.Add(id, (status, forgetAt));
        changes[QualityChangelogCodec.ResolvedKey(id)] = QualityChangelogCodec.EncodeResolved(status, forgetAt);
    }

    /// <summary>Adds a prediction waiting for its label.</summary>
    public void AddPending(string id, PendingPrediction prediction)
    {
        _pending.Add(id, prediction);
        changes[QualityChangelogCodec.PendingKey(id)] = QualityChangelogCodec.EncodePending(prediction);
    }

    /// <summary>Removes and returns the pending prediction of this id, if any.</summary>
    public PendingPrediction? RemovePending(string id) => Remove(_pending, id, QualityChangelogCodec.PendingKey(id));

    /// <summary>Adds a label waiting for its prediction.</summary>
    public void AddWaiting(string id, WaitingLabel label)
    {
        _waiting.Add(id, label);
        changes[QualityChangelogCodec.LabelKey(id)] = QualityChangelogCodec.EncodeLabel(label);
    }

    /// <summary>Removes and returns the waiting label of this id, if any.</summary>
    public WaitingLabel? RemoveWaiting(string id) => Remove(_waiting, id, QualityChangelogCodec.LabelKey(id));

    /// <summary>Removes the earliest pending prediction whose horizon has passed at <paramref name="streamTimeMs"/>.</summary>
    public bool TryExpirePending(long streamTimeMs, out string id, out PendingPrediction prediction) =>
        TryExpire(_pending, streamTimeMs, RemovePending, out id, out prediction);

    /// <summary>Removes the earliest waiting label whose horizon has passed at <paramref name="streamTimeMs"/>.</summary>
    public bool TryExpireWaiting(long streamTimeMs, out string id, out WaitingLabel label) =>
        TryExpire(_waiting, streamTimeMs, RemoveWaiting, out id, out label);

    /// <summary>Forgets the resolved ids remembered long enough at <paramref name="streamTimeMs"/>.</summary>
    public void ForgetResolved(long streamTimeMs)
    {
        while (_resolved.First is { } first && first.Time < streamTimeMs)
        {
            Remove(_resolved, first.Id, QualityChangelogCodec.ResolvedKey(first.Id));
        }
    }

    /// <summary>Restores one changelog entry of the buffer; false when the key is not one of its kinds.</summary>
    public bool Restore(string key, byte[] value)
    {
        var id = key[1..];
        switch (key[0])
        {
            case QualityChangelogCodec.PendingPrefix:
                _pending.Add(id, QualityChangelogCodec.DecodePending(value));
                return true;
            case QualityChangelogCodec.LabelPrefix:
                _waiting.Add(id, QualityChangelogCodec.DecodeLabel(value));
                return true;
            case QualityChangelogCodec.ResolvedPrefix:
                _resolved.Add(id, QualityChangelogCodec.DecodeResolved(value));
                return true;
            default:
                return false;
        }
    }

    private T? Remove<T>(TimedMap<T> map, string id, string key)
    {
        if (!map.Remove(id, out var value))
        {
            return default;
        }

        changes[key] = null;
        return value;
    }

    private bool TryExpire<T>(TimedMap<T> map, long streamTimeMs, Func<string, T?> remove, out string id, out T value)
        where T : class
    {
        // A prediction or a label waits up to the label horizon of task stream time.
        if (map.First is { } first && Saturating.Add(first.Time, labelHorizonMs) < streamTimeMs)
        {
            id = first.Id;
            value = remove(id)!;
            return true;
        }

        (id, value) = (string.Empty, null!);
        return false;
    }

    /// <summary>Values by id, indexed by a time (ties: by id) for expiry in time order.</summary>
    private sealed class TimedMap<T>(Func<T, long> timeOf)
    {
        private readonly Dictionary<string, T> _values = new(StringComparer.Ordinal);
        private readonly SortedSet<(long Time, string Id)> _byTime = new(QualityChangelogCodec.ByTime);

        public int Count => _values.Count;

        public (long Time, string Id)? First => _byTime.Count > 0 ? _byTime.Min : null;

        public bool Contains(string id) => _values.ContainsKey(id);

        public bool TryGet(string id, out T value) => _values.TryGetValue(id, out value!);

        public void Add(string id, T value)
        {
            _values[id] = value;
            _byTime.Add((timeOf(value), id));
        }

        public bool Remove(string id, out T value)
        {
            if (!_values.Remove(id, out value!))
            {
                return false;
            }

            _byTime.Remove((timeOf(value), id));
            return true;
        }
    }
}
