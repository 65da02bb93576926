using Avro.Reflect;

namespace StreamMonitor.Contracts;

/// <summary>One inference request: the features of one entity at one event time (schemas/feature-event.avsc).</summary>
public sealed class FeatureEvent
{
    [AvroField("event_id")] public string EventId { get; set; } = "";
    [AvroField("model_name")] public string ModelName { get; set; } = "";
    [AvroField("entity_id")] public string EntityId { get; set; } = "";
    [AvroField("event_time_ms")] public long EventTimeMs { get; set; }
    [AvroField("features")] public Dictionary<string, double?> Features { get; set; } = [];
    [AvroField("categorical")] public Dictionary<string, string?> Categorical { get; set; } = [];
}
