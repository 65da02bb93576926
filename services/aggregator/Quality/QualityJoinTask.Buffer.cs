using System.Globalization;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.Validation;
using StreamMonitor.Streams;

namespace StreamMonitor.Aggregator.Quality;

/// <summary>The join buffer: pending predictions, waiting labels and resolved ids, their changelog entries and their expiry.</summary>
public sealed partial class QualityJoinTask
{
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

    private sealed record PendingPrediction((long Time, string Id) Window, long EventTimeMs, OutputKind Kind, double Score, int? PredictedClass);
}
