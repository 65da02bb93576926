using Avro.Reflect;

namespace StreamMonitor.Contracts;

/// <summary>An input a service could not process, kept whole with the reason (schemas/dead-letter.avsc).</summary>
public sealed class DeadLetter
{
    /// <summary>
    /// Most payload bytes kept: half of the producers' default 1 MB maximum message size, leaving room for the key,
    /// the envelope and a configured limit a little below the default.
    /// </summary>
    public const int DefaultMaxPayloadBytes = 512 * 1024;

    [AvroField("service")] public string Service { get; set; } = "";
    [AvroField("source_topic")] public string SourceTopic { get; set; } = "";
    [AvroField("source_partition")] public int SourcePartition { get; set; }
    [AvroField("source_offset")] public long SourceOffset { get; set; }
    [AvroField("key")] public byte[]? Key { get; set; }
    [AvroField("payload")] public byte[]? Payload { get; set; }
    [AvroField("reason_code")] public string ReasonCode { get; set; } = "";
    [AvroField("reason")] public string Reason { get; set; } = "";
    [AvroField("event_time_ms")] public long? EventTimeMs { get; set; }
    [AvroField("observed_at_ms")] public long ObservedAtMs { get; set; }
    [AvroField("original_size")] public long OriginalSize { get; set; } = -1;
    [AvroField("payload_sha256")] public byte[]? PayloadSha256 { get; set; }
    [AvroField("payload_truncated")] public bool PayloadTruncated { get; set; }

    /// <summary>
    /// The one dead-letter key format: "source-topic/partition/offset" in UTF-8, so a record dead-lettered again after a
    /// crash lands on the same key and is recognisable as a duplicate.
    /// </summary>
    public static byte[] KeyOf(string topic, int partition, long offset) =>
        System.Text.Encoding.UTF8.GetBytes(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{topic}/{partition}/{offset}"));

    /// <summary>
    /// A dead letter for a source record: its coordinates, key, value (or the first bytes of it), size and SHA-256.
    /// The payload is cut so the encoded dead letter stays within <paramref name="maxPayloadBytes"/>: a dead letter the
    /// cluster refuses as too large would be lost, and with it the only trace of the bad record.
    /// </summary>
    public static DeadLetter For(string sourceTopic, int sourcePartition, long sourceOffset, byte[]? key, byte[]? payload,
        string reasonCode, string reason, long? eventTimeMs, int maxPayloadBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxPayloadBytes);
        var truncated = payload is not null && payload.Length > maxPayloadBytes;
        return new DeadLetter
        {
            SourceTopic = sourceTopic,
            SourcePartition = sourcePartition,
            SourceOffset = sourceOffset,
            Key = key is { Length: > 1024 } ? key[..1024] : key,
            Payload = truncated ? payload![..maxPayloadBytes] : payload,
            OriginalSize = payload?.LongLength ?? 0,
            PayloadSha256 = payload is null ? null : System.Security.Cryptography.SHA256.HashData(payload),
            PayloadTruncated = truncated || key is { Length: > 1024 },
            ReasonCode = reasonCode,
            Reason = reason.Length > 2048 ? reason[..2048] : reason,
            EventTimeMs = eventTimeMs,
        };
    }
}
