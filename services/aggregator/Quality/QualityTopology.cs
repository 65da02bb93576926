using StreamMonitor.Aggregator.Topology;
using StreamMonitor.Contracts;
using StreamMonitor.Streams;

namespace StreamMonitor.Aggregator.Quality;

/// <summary>
/// Stage B of the quality topology: merges the partials of every (predictions p, labels p) task into a
/// <see cref="QualityWindowResult"/>, upserted on each change (revision = label joins and expiries applied, summed over
/// partitions) and final once every partition has finalised the window.
/// </summary>
public sealed class QualityTopology(EventCodec codec, QualitySettings settings) : IResultBuilder
{
    /// <inheritdoc />
    public WindowKind Kind => WindowKind.Quality;

    /// <inheritdoc />
    public string ResultTopic => settings.Topics.QualityResults;

    /// <inheritdoc />
    public IReadOnlyList<string> Sources { get; } = Enumerable.Range(0, settings.Topics.InputPartitions).Select(p => QualityJoinTask.SourceOf(settings.Topics, p)).ToList();

    /// <inheritdoc />
    public bool Upsert => true;

    /// <inheritdoc />
    public WindowSpec? Windows => settings.Window;

    /// <inheritdoc />
    public byte[] Build(WindowKey window, IReadOnlyList<byte[]> partialStates) => Build(window, partialStates, complete: false);

    /// <inheritdoc />
    public byte[] Build(WindowKey window, IReadOnlyList<byte[]> partialStates, bool complete)
    {
        ArgumentNullException.ThrowIfNull(partialStates);
        var merged = new QualityAggregate();
        foreach (var state in partialStates)
        {
            using var reader = new BinaryReader(new MemoryStream(state, writable: false));
            merged.MergeFrom(QualityAggregate.ReadEmbedded(reader));
        }

        return codec.Serialize(merged.ToResult(window, complete));
    }
}
