using Avro.Reflect;

namespace StreamMonitor.Contracts;

/// <summary>The alerter's state plus the input offsets it reflects, as one record (schemas/alerter-checkpoint.avsc).</summary>
public sealed class AlerterCheckpoint
{
    [AvroField("evaluator_id")] public string EvaluatorId { get; set; } = "";
    [AvroField("sequence")] public long Sequence { get; set; }
    [AvroField("written_at_ms")] public long WrittenAtMs { get; set; }
    [AvroField("offsets")] public List<CheckpointOffset> Offsets { get; set; } = [];
    [AvroField("state_format")] public string StateFormat { get; set; } = "";
    [AvroField("state")] public byte[] State { get; set; } = [];
}

/// <summary>Next offset to read of one input partition.</summary>
public sealed class CheckpointOffset
{
    [AvroField("topic")] public string Topic { get; set; } = "";
    [AvroField("partition")] public int Partition { get; set; }
    [AvroField("offset")] public long Offset { get; set; }
}
