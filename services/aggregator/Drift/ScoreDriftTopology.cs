using StreamMonitor.Aggregator.Topology;
using StreamMonitor.Contracts;
using StreamMonitor.Streams.Drift;

namespace StreamMonitor.Aggregator.Drift;

/// <summary>
/// Prediction-score drift, stage A over the predictions topic: per model with a score reference
/// (<see cref="ReferenceProfile.Score"/>), the window's scores in the reference cell layout. Its partials have the drift
/// kind and key ("model|all"), so the drift merge adds them to the same window as the feature partials; they carry no
/// feature counts (<see cref="DriftAggregate.Count"/> stays the number of feature events). It runs beside the latency
/// topology on the same partitions, which already routes malformed and late predictions: this one skips records it has
/// no use for (undecodable, errors, shadows, models without a score reference) instead of dead-lettering them twice.
/// </summary>
public sealed class ScoreDriftTopology(EventCodec codec, IReadOnlyDictionary<string, ReferenceProfile> profiles) : IStageTopology<ModelDriftAggregate>
{
    /// <inheritdoc />
    public WindowKind Kind => WindowKind.Drift;

    /// <inheritdoc />
    public bool RoutesBadRecords => false;

    /// <inheritdoc />
    public string SourceSuffix => ScoreSourceSuffix;

    /// <summary>Source ids of this topology: "{predictions topic}#score:{partition}".</summary>
    public const string ScoreSourceSuffix = "#score";

    /// <summary>True when at least one profile has a score reference (otherwise the topology has nothing to do).</summary>
    public bool Enabled => profiles.Values.Any(p => p.Score is not null);

    /// <inheritdoc />
    public ModelDriftAggregate Create() => new();

    /// <inheritdoc />
    public void Write(BinaryWriter writer, ModelDriftAggregate aggregate) => ModelDriftAggregate.Write(writer, aggregate);

    /// <inheritdoc />
    public ModelDriftAggregate Read(BinaryReader reader) => ModelDriftAggregate.Read(reader);

    /// <inheritdoc />
    public bool TryRead(byte[] value, out string key, out long eventTimeMs, out Action<ModelDriftAggregate> update, out string reasonCode, out string reason)
    {
        key = "";
        eventTimeMs = long.MinValue;
        update = static _ => { };
        reasonCode = "";
        reason = "";
        if (!codec.TryDeserialize<Prediction>(value, out var prediction, out _) || prediction is null)
        {
            // Skipped (empty key, no time): the latency topology on the same record counts and routes it.
            return true;
        }

        eventTimeMs = prediction.EventTimeMs;
        if (prediction.Status != PredictionStatus.OK || prediction.Shadow || !profiles.TryGetValue(prediction.ModelName, out var profile) || profile.Score is null)
        {
            // Skipped (empty key), but its event time still advances this topology's stream time.
            return true;
        }

        key = prediction.ModelName + "|" + DriftTopology.AllVersions;
        var score = prediction.Score;
        update = aggregate => aggregate.AddScore(profile, score);
        return true;
    }
}
