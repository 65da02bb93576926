using Avro.Reflect;

namespace StreamMonitor.Contracts;

/// <summary>An input a service could not process, kept whole with the reason (schemas/dead-letter.avsc).</summary>
public sealed class DeadLetter
{
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
}
