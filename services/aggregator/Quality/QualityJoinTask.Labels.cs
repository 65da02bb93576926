using System.Text;
using Confluent.Kafka;
using StreamMonitor.Aggregator.Topology;
using StreamMonitor.Contracts.Validation;
using StreamMonitor.Streams;

namespace StreamMonitor.Aggregator.Quality;

/// <summary>The label side of the join: a label joins, waits or is dead-lettered with its reason (the first label wins).</summary>
public sealed partial class QualityJoinTask
{
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

    private sealed record WaitingLabel(long LabelTimeMs, double Value, int Partition, long Offset, byte[] Payload);
}
