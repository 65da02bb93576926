using System.Globalization;
using Confluent.Kafka;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.Validation;
using StreamMonitor.Streams;

namespace StreamMonitor.Aggregator.Quality;

/// <summary>
/// The join proper of a <see cref="QualityJoinTask"/>, over records the policy accepted: pairs labels with OK predictions
/// by event id, whichever arrives first waiting in the <see cref="JoinBuffer"/> up to the label horizon, counts each pair
/// or expiry in the prediction's window (<see cref="QualityWindows"/>), and routes duplicates, late predictions and
/// labels it cannot join (<see cref="QualityDeadLetters"/>). Horizon arithmetic saturates.
/// </summary>
internal sealed class QualityJoin(QualitySettings settings, JoinProgress progress, JoinBuffer buffer, QualityWindows windows, QualityDeadLetters deadLetters)
{
    private const string ErrorPredictionReason = "The prediction failed (status ERROR); it has no output to judge.";

    /// <summary>Adds an accepted prediction: moves both stream times, then joins it, parks it, or routes it.</summary>
    public void AddPrediction(Prediction prediction, ConsumeResult<byte[], byte[]> record, ITaskOutput output)
    {
        var eventTime = prediction.EventTimeMs;
        progress.StreamTime = Math.Max(progress.StreamTime, eventTime);
        progress.PredictionTime = Math.Max(progress.PredictionTime, eventTime);
        Expire(output);
        var id = prediction.EventId;
        if (buffer.HasPrediction(id))
        {
            deadLetters.DuplicatePrediction(record, id, eventTime, output);
            return;
        }

        if (prediction.Status != PredictionStatus.OK)
        {
            // Error predictions have no output to judge: they are not part of quality windows (the latency topology
            // counts them); their labels are dead-lettered.
            progress.ErrorPredictions++;
            buffer.Resolve(id, JoinResolution.Error, eventTime);
            if (buffer.RemoveWaiting(id) is { } early)
            {
                deadLetters.Label(output, id, early, ReasonCodes.LabelErrorPrediction, ErrorPredictionReason);
            }

            return;
        }

        if (settings.Window.IsLate(eventTime, progress.PredictionTime))
        {
            deadLetters.Late(record, eventTime, output);
            return;
        }

        var window = windows.Open((settings.Window.LastWindowStart(eventTime), new ModelKey(prediction.ModelName, prediction.ModelVersion).ToString()));
        window.Aggregate.Predictions++;
        window.Pending++;
        windows.Touch(window);
        var pending = new PendingPrediction(window.Slot, eventTime, prediction.OutputKind, prediction.Score ?? double.NaN, prediction.PredictedClass);
        if (buffer.RemoveWaiting(id) is { } label)
        {
            Join(id, pending, label, output);
        }
        else
        {
            buffer.AddPending(id, pending);
        }
    }

    /// <summary>Adds an accepted label: moves stream time, then joins it, parks it, or dead-letters it.</summary>
    public void AddLabel(Label label, int sourcePartition, long sourceOffset, byte[] payload, ITaskOutput output)
    {
        progress.StreamTime = Math.Max(progress.StreamTime, label.LabelTimeMs);
        Expire(output);
        var id = label.EventId;
        var waiting = new WaitingLabel(label.LabelTimeMs, label.Value, sourcePartition, sourceOffset, payload);
        if (buffer.RemovePending(id) is { } prediction)
        {
            Join(id, prediction, waiting, output);
            return;
        }

        switch (buffer.ResolutionOf(id))
        {
            case JoinResolution.Joined:
                progress.Duplicates++;
                deadLetters.Label(output, id, waiting, ReasonCodes.LabelDuplicate, "A label for this prediction was already joined (the first wins).");
                break;
            case JoinResolution.Expired:
                progress.LabelsExpired++;
                deadLetters.Label(output, id, waiting, ReasonCodes.LabelExpired, "The prediction expired unlabeled (label horizon passed).");
                break;
            case JoinResolution.Error:
                deadLetters.Label(output, id, waiting, ReasonCodes.LabelErrorPrediction, ErrorPredictionReason);
                break;
            case null when buffer.IsWaiting(id):
                progress.Duplicates++;
                deadLetters.Label(output, id, waiting, ReasonCodes.LabelDuplicate, "A label for this event id is already waiting (the first wins).");
                break;
            default:
                buffer.AddWaiting(id, waiting);
                break;
        }
    }

    /// <summary>Expires the predictions and labels that waited past the horizon at the current stream time.</summary>
    public void Expire(ITaskOutput output)
    {
        while (buffer.TryExpirePending(progress.StreamTime, out var id, out var prediction))
        {
            var window = windows[prediction.Window];
            window.Aggregate.AddExpired();
            buffer.Resolve(id, JoinResolution.Expired, prediction.EventTimeMs);
            windows.Settle(window, output);
        }

        while (buffer.TryExpireWaiting(progress.StreamTime, out var id, out var label))
        {
            progress.LabelsUnknown++;
            deadLetters.Label(output, id, label, ReasonCodes.LabelUnknownPrediction, $"No prediction for this event id within the label horizon ({settings.LabelHorizonMs} ms).");
        }

        buffer.ForgetResolved(progress.StreamTime);
    }

    private void Join(string id, PendingPrediction prediction, WaitingLabel label, ITaskOutput output)
    {
        var window = windows[prediction.Window];
        if (prediction.Kind == OutputKind.BINARY_PROBABILITY && label.Value is not (0.0 or 1.0))
        {
            // Counted like an unknown label; the prediction stays joinable for a valid one.
            progress.Malformed++;
            deadLetters.Label(output, id, label, ReasonCodes.InvalidValue, $"Binary model: label {label.Value.ToString(CultureInfo.InvariantCulture)} is neither 0 nor 1.");
            buffer.AddPending(id, prediction);
            return;
        }

        window.Aggregate.AddLabeled(prediction.Kind, prediction.Score, prediction.PredictedClass, label.Value, label.LabelTimeMs - prediction.EventTimeMs);
        buffer.Resolve(id, JoinResolution.Joined, prediction.EventTimeMs);
        windows.Settle(window, output);
    }
}
