using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Avro;
using StreamMonitor.Contracts;

namespace StreamMonitor.Models.Inference;

/// <summary>
/// Encodes a <see cref="Prediction"/> in Avro single-object encoding byte for byte as <see cref="EventCodec"/> does,
/// without reflection: Avro.Reflect costs tens of microseconds per record, more than the inference of a row. The
/// fast path is used only while the current prediction schema has exactly the fields it was written for (checked
/// once, at construction); otherwise every call goes through <see cref="EventCodec"/>, so adding a schema field
/// can never produce a wrong record, only a slower one.
/// </summary>
public sealed class PredictionEncoder
{
    private static readonly string[] PredictionFields =
    [
        "event_id", "model_name", "model_version", "model_hash", "entity_id", "event_time_ms", "status", "error_reason",
        "output_kind", "score", "predicted_class", "probabilities", "timing", "execution_provider", "scorer_instance", "shadow",
    ];

    private static readonly string[] TimingFields =
    [
        "broker_time_ms", "consumed_at_ms", "kafka_queue_us", "decode_us", "batch_wait_us", "batch_id", "batch_size",
        "dispatch_reason", "inference_us", "encode_us", "e2e_us", "published_at_ms",
    ];

    private readonly EventCodec _codec;
    private readonly long _fingerprint;
    private readonly ArrayBufferWriter<byte> _buffer = new(512);

    /// <summary>Creates an encoder for the codec's current Prediction schema.</summary>
    public PredictionEncoder(EventCodec codec)
    {
        ArgumentNullException.ThrowIfNull(codec);
        _codec = codec;
        var schema = codec.Catalog.ReaderSchemaOf<Prediction>();
        _fingerprint = EventSchemaCatalog.Fingerprint(schema);
        IsFastPath = schema.Fields.Select(f => f.Name).SequenceEqual(PredictionFields)
            && schema.Fields.Single(f => f.Name == "timing").Schema is RecordSchema timing
            && timing.Fields.Select(f => f.Name).SequenceEqual(TimingFields);
    }

    /// <summary>Whether the reflection-free path is in use.</summary>
    public bool IsFastPath { get; }

    /// <summary>The encoded record. Not thread-safe (one reusable buffer).</summary>
    public byte[] Encode(Prediction prediction)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        if (!IsFastPath)
        {
            return _codec.Serialize(prediction);
        }

        _buffer.ResetWrittenCount();
        var header = _buffer.GetSpan(EventCodec.HeaderLength);
        header[0] = 0xC3;
        header[1] = 0x01;
        BinaryPrimitives.WriteInt64LittleEndian(header[2..], _fingerprint);
        _buffer.Advance(EventCodec.HeaderLength);
        String(prediction.EventId);
        String(prediction.ModelName);
        String(prediction.ModelVersion);
        String(prediction.ModelHash);
        String(prediction.EntityId);
        Long(prediction.EventTimeMs);
        Long((int)prediction.Status);
        if (prediction.ErrorReason is { } error)
        {
            Long(1);
            String(error);
        }
        else
        {
            Long(0);
        }

        Long((int)prediction.OutputKind);
        if (prediction.Score is { } score)
        {
            Long(1);
            Double(score);
        }
        else
        {
            Long(0);
        }

        if (prediction.PredictedClass is { } predicted)
        {
            Long(1);
            Long(predicted);
        }
        else
        {
            Long(0);
        }

        if (prediction.Probabilities.Count > 0)
        {
            Long(prediction.Probabilities.Count);
            foreach (var p in prediction.Probabilities)
            {
                Double(p);
            }
        }

        Long(0);
        var t = prediction.Timing;
        Long(t.BrokerTimeMs);
        Long(t.ConsumedAtMs);
        Long(t.KafkaQueueUs);
        Long(t.DecodeUs);
        Long(t.BatchWaitUs);
        Long(t.BatchId);
        Long(t.BatchSize);
        Long((int)t.DispatchReason);
        Long(t.InferenceUs);
        Long(t.EncodeUs);
        Long(t.E2eUs);
        Long(t.PublishedAtMs);
        String(prediction.ExecutionProvider);
        String(prediction.ScorerInstance);
        var flag = _buffer.GetSpan(1);
        flag[0] = prediction.Shadow ? (byte)1 : (byte)0;
        _buffer.Advance(1);
        return _buffer.WrittenSpan.ToArray();
    }

    /// <summary>Avro long/int: zig-zag varint.</summary>
    private void Long(long value)
    {
        var span = _buffer.GetSpan(10);
        var n = (ulong)((value << 1) ^ (value >> 63));
        var i = 0;
        while (n >= 0x80)
        {
            span[i++] = (byte)(n | 0x80);
            n >>= 7;
        }

        span[i++] = (byte)n;
        _buffer.Advance(i);
    }

    private void Double(double value)
    {
        BinaryPrimitives.WriteDoubleLittleEndian(_buffer.GetSpan(8), value);
        _buffer.Advance(8);
    }

    private void String(string value)
    {
        var length = Encoding.UTF8.GetByteCount(value);
        Long(length);
        Encoding.UTF8.GetBytes(value, _buffer.GetSpan(length));
        _buffer.Advance(length);
    }
}
