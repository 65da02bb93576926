using StreamMonitor.Aggregator.Topology;
using StreamMonitor.Contracts;
using StreamMonitor.Kafka;

namespace StreamMonitor.Aggregator.Latency;

/// <summary>Latency and traffic per model version: stage A reads predictions, stage B builds <see cref="LatencyWindowResult"/>.</summary>
public sealed class LatencyTopology(EventCodec codec, IReadOnlyList<long> sliThresholdsUs, TopicCatalog topics) : IStageTopology<LatencyAggregate>, IResultBuilder
{
    /// <inheritdoc />
    public WindowKind Kind => WindowKind.Latency;

    /// <inheritdoc />
    public string ResultTopic => topics.LatencyResults;

    /// <inheritdoc />
    public IReadOnlyList<string> Sources { get; } = Enumerable.Range(0, topics.InputPartitions).Select(p => PartialRecords.SourceOf(topics.Predictions, p)).ToList();

    /// <inheritdoc />
    public LatencyAggregate Create() => new(sliThresholdsUs);

    /// <inheritdoc />
    public void Write(BinaryWriter writer, LatencyAggregate aggregate)
    {
        ArgumentNullException.ThrowIfNull(aggregate);
        aggregate.WriteTo(writer);
    }

    /// <inheritdoc />
    public LatencyAggregate Read(BinaryReader reader) => LatencyAggregate.ReadFrom(reader);

    /// <inheritdoc />
    public bool TryRead(byte[] value, out string key, out long eventTimeMs, out Action<LatencyAggregate> update, out string reasonCode, out string reason)
    {
        if (!codec.TryDeserialize<Prediction>(value, out var prediction, out var error) || prediction is null)
        {
            key = "";
            eventTimeMs = 0;
            update = static _ => { };
            reasonCode = error?.ReasonCode ?? "DECODE";
            reason = error?.Message ?? "Not a prediction.";
            return false;
        }

        if (string.IsNullOrEmpty(prediction.ModelName) || prediction.ModelName.Contains('|', StringComparison.Ordinal) || prediction.ModelVersion.Contains('|', StringComparison.Ordinal))
        {
            key = "";
            eventTimeMs = 0;
            update = static _ => { };
            reasonCode = "BAD_MODEL_NAME";
            reason = $"Model name '{prediction.ModelName}' / version '{prediction.ModelVersion}' is empty or contains '|'.";
            return false;
        }

        key = prediction.ModelName + "|" + prediction.ModelVersion;
        eventTimeMs = prediction.EventTimeMs;
        update = aggregate => aggregate.Add(prediction);
        reasonCode = "";
        reason = "";
        return true;
    }

    /// <inheritdoc />
    public byte[] Build(WindowKey window, IReadOnlyList<byte[]> partialStates)
    {
        ArgumentNullException.ThrowIfNull(partialStates);
        var merged = Create();
        foreach (var state in partialStates)
        {
            using var reader = new BinaryReader(new MemoryStream(state, writable: false));
            merged.MergeFrom(LatencyAggregate.ReadFrom(reader));
        }

        return codec.Serialize(merged.ToResult(window, partialStates.Count));
    }
}
