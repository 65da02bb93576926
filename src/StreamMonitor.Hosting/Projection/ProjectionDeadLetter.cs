using Confluent.Kafka;
using StreamMonitor.Contracts;

namespace StreamMonitor.Hosting.Projection;

/// <summary>The one dead-letter envelope of a projected record (the <see cref="IRecordProjection"/>s' shared builder).</summary>
public static class ProjectionDeadLetter
{
    /// <summary>
    /// The dead letter (key, value, reason code, detail) of <paramref name="record"/>, written by <paramref name="service"/>
    /// under the one key format <see cref="DeadLetter.KeyOf"/> (a record dead-lettered again after a crash lands on the
    /// same key). Observed at the wall clock: a projection is not a replayable computation of its own.
    /// </summary>
    public static (byte[] Key, byte[] Value, string Code, string Detail) For(EventCodec codec, string service, ConsumeResult<byte[], byte[]> record, string code, string detail, long? eventTimeMs)
    {
        ArgumentNullException.ThrowIfNull(codec);
        ArgumentNullException.ThrowIfNull(record);
        var letter = DeadLetter.For(record.Topic, record.Partition.Value, record.Offset.Value, record.Message.Key, record.Message.Value, code, detail, eventTimeMs, DeadLetter.DefaultMaxPayloadBytes);
        letter.Service = service;
        letter.ObservedAtMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        return (DeadLetter.KeyOf(record.Topic, record.Partition.Value, record.Offset.Value), codec.Serialize(letter), code, detail);
    }
}
