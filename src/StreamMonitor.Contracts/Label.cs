using Avro.Reflect;

namespace StreamMonitor.Contracts;

/// <summary>Ground truth for an earlier event (schemas/label.avsc).</summary>
public sealed class Label
{
    [AvroField("event_id")] public string EventId { get; set; } = "";
    [AvroField("model_name")] public string? ModelName { get; set; }
    [AvroField("label")] public double Value { get; set; }
    [AvroField("label_time_ms")] public long LabelTimeMs { get; set; }
}
