using Confluent.Kafka;
using StreamMonitor.Aggregator.Topology;
using StreamMonitor.Analytics.Drift;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.State;
using StreamMonitor.Contracts.Validation;
using StreamMonitor.Streams;

namespace StreamMonitor.Aggregator.Drift;

/// <summary>
/// Prediction-score drift, stage A over the predictions topic: per model with a score reference
/// (<see cref="ReferenceProfile.Score"/>), the window's scores in the reference cell layout. Its partials have the drift
/// kind and key ("model|all"), so the drift merge adds them to the same window as the feature partials; they carry no
/// feature counts (<see cref="DriftAggregate.Count"/> stays the number of feature events). Beside the latency topology,
/// which already routes rejected and late predictions of the same partitions, it skips them instead of dead-lettering
/// them twice (<paramref name="routesBadRecords"/> false); without the latency topology it routes them itself. Either
/// way it skips valid predictions it does not aggregate (errors, shadows, models without a score reference).
/// </summary>
/// <param name="inputs">Decodes and validates predictions (the same outcome as the latency topology's).</param>
/// <param name="profiles">Reference profiles by model.</param>
/// <param name="routesBadRecords">Dead-letter rejected predictions and late-route late ones (no latency topology runs).</param>
public sealed class ScoreDriftTopology(InputRecords inputs, IReadOnlyDictionary<string, ReferenceProfile> profiles, bool routesBadRecords = false) : IStageTopology<ModelDriftAggregate>
{
    /// <inheritdoc />
    public WindowKind Kind => WindowKind.Drift;

    /// <inheritdoc />
    public bool RoutesBadRecords => routesBadRecords;

    /// <inheritdoc />
    public string SourceSuffix => ScoreSourceSuffix;

    /// <summary>Source ids of this topology: "{predictions topic}#score:{partition}".</summary>
    public const string ScoreSourceSuffix = "#score";

    /// <summary>True when at least one profile has a score reference (otherwise the topology has nothing to do).</summary>
    public bool Enabled => profiles.Values.Any(p => p.Score is not null);

    /// <inheritdoc />
    public ModelDriftAggregate Create() => new();

    /// <inheritdoc />
    public IStateCodec<ModelDriftAggregate> Codec => ModelDriftAggregate.Codec;

    /// <inheritdoc />
    public Rejection? TryRead(ConsumeResult<byte[], byte[]> record, out string key, out long eventTimeMs, out Action<ModelDriftAggregate> update)
    {
        key = "";
        eventTimeMs = 0;
        update = static _ => { };
        if (!inputs.Prediction(record).TryGet(out var prediction, out var rejection))
        {
            // Routed here, or skipped because the latency topology routes it.
            return rejection;
        }

        eventTimeMs = prediction.EventTimeMs;
        if (prediction.Status != PredictionStatus.OK || prediction.Shadow || !profiles.TryGetValue(prediction.ModelName, out var profile) || profile.Score is null)
        {
            // Skipped (empty key), but its event time still advances this topology's stream time.
            return null;
        }

        key = ModelKey.AllVersions(prediction.ModelName).ToString();
        var score = prediction.Score;
        update = aggregate => aggregate.AddScore(profile, score);
        return null;
    }
}
