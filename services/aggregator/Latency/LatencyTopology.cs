using Confluent.Kafka;
using StreamMonitor.Aggregator.Topology;
using StreamMonitor.Analytics.Latency;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.State;
using StreamMonitor.Contracts.Validation;
using StreamMonitor.Kafka;
using StreamMonitor.Streams;

namespace StreamMonitor.Aggregator.Latency;

/// <summary>
/// Latency and traffic per model version: stage A reads predictions (valid ones, through <paramref name="inputs"/>),
/// stage B builds <see cref="LatencyWindowResult"/>. It routes the rejected and late predictions of its partitions.
/// </summary>
/// <param name="inputs">Decodes and validates the predictions.</param>
/// <param name="codec">Encodes the results.</param>
/// <param name="sliThresholdsUs">Latency SLI thresholds.</param>
/// <param name="topics">Topic names.</param>
public sealed class LatencyTopology(InputRecords inputs, EventCodec codec, IReadOnlyList<long> sliThresholdsUs, TopicCatalog topics) : IStageTopology<LatencyAggregate>, IResultBuilder
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
    public IStateCodec<LatencyAggregate> Codec => LatencyAggregate.Codec;

    /// <inheritdoc />
    public Rejection? TryRead(ConsumeResult<byte[], byte[]> record, out string key, out long eventTimeMs, out Action<LatencyAggregate> update)
    {
        if (!inputs.Prediction(record).TryGet(out var prediction, out var rejection))
        {
            key = "";
            eventTimeMs = 0;
            update = static _ => { };
            return rejection;
        }

        // An ERROR prediction of an invalid model arrives in the "_unknown" bucket and counts in its error rate there.
        key = new ModelKey(prediction.ModelName, prediction.ModelVersion).ToString();
        eventTimeMs = prediction.EventTimeMs;
        update = aggregate => aggregate.Add(prediction);
        return null;
    }

    /// <inheritdoc />
    public byte[] Build(WindowKey window, IReadOnlyList<byte[]> partialStates)
    {
        ArgumentNullException.ThrowIfNull(partialStates);
        var merged = Create();
        foreach (var state in partialStates)
        {
            using var reader = new BinaryReader(new MemoryStream(state, writable: false));
            merged.MergeFrom(LatencyAggregate.Codec.ReadVersioned(reader));
        }

        return codec.Serialize(merged.ToResult(window, partialStates.Count));
    }
}
