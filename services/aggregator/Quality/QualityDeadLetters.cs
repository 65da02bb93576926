using System.Text;
using Confluent.Kafka;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.Validation;
using StreamMonitor.Streams;

namespace StreamMonitor.Aggregator.Quality;

/// <summary>
/// Where the quality join routes what it does not aggregate: records the policy rejected, late predictions and the
/// labels it cannot join, each counted in <see cref="JoinProgress"/> and reported to the metrics with its dead letter.
/// Envelopes carry the task's stream time, not the wall clock, so a replay writes the same ones.
/// </summary>
internal sealed class QualityDeadLetters(QualitySettings settings, EventCodec codec, JoinProgress progress)
{
    /// <summary>A record the record policy rejected: counted malformed, dead-lettered with the policy's reason.</summary>
    public void Reject(ConsumeResult<byte[], byte[]> record, Rejection rejection, ITaskOutput output)
    {
        progress.Malformed++;
        settings.Metrics?.Rejected(record.Topic, rejection.ReasonCode);
        Record(output, settings.Topics.DeadLetter, record, rejection.ReasonCode, rejection.Detail, rejection.EventTimeMs);
    }

    /// <summary>A prediction whose window had closed: counted late, routed to the late-events topic.</summary>
    public void Late(ConsumeResult<byte[], byte[]> record, long eventTime, ITaskOutput output)
    {
        progress.Late++;
        settings.Metrics?.Late(record.Topic);
        Record(output, settings.Topics.LateEvents, record, ReasonCodes.Late, $"Event time {eventTime} is past the close (end + grace {settings.Window.GraceMs} ms) of its {settings.Window.Label} quality window; prediction stream time {progress.PredictionTime}.", eventTime);
    }

    /// <summary>A second prediction with an id already seen: counted a duplicate, dead-lettered (the first is joined).</summary>
    public void DuplicatePrediction(ConsumeResult<byte[], byte[]> record, string id, long eventTime, ITaskOutput output)
    {
        progress.Duplicates++;
        Record(output, settings.Topics.DeadLetter, record, ReasonCodes.PredictionDuplicate, $"Prediction {id} was already seen; the first one is joined.", eventTime);
    }

    /// <summary>A label that cannot be joined, dead-lettered under its coordinates on the labels topic.</summary>
    public void Label(ITaskOutput output, string id, WaitingLabel label, string code, string reason) =>
        Send(output, settings.Topics.DeadLetter, TaskState.DeadLetter(codec, settings.Topics.Labels, label.Partition, label.Offset, Encoding.UTF8.GetBytes(id), label.Payload, code, reason, label.LabelTimeMs, progress.StreamTime), code);

    private void Record(ITaskOutput output, string topic, ConsumeResult<byte[], byte[]> record, string code, string reason, long? eventTime) =>
        Send(output, topic, TaskState.DeadLetter(codec, record, code, reason, eventTime, progress.StreamTime), code);

    private void Send(ITaskOutput output, string topic, (byte[] Key, byte[] Value) letter, string code)
    {
        output.Send(topic, null, letter.Key, letter.Value);
        if (topic == settings.Topics.DeadLetter)
        {
            settings.Metrics?.DeadLetter(code);
        }
    }
}
