using StreamMonitor.Aggregator.Topology;
using StreamMonitor.Contracts;
using StreamMonitor.Streams.Drift;

namespace StreamMonitor.Aggregator.Drift;

/// <summary>
/// Prediction-score drift, stage A over the predictions topic: per model with a score reference
/// (<see cref="ReferenceProfile.Score"/>), the window's scores in the reference cell layout. Its partials have the drift
/// kind and key ("model|all"), so the drift merge adds them to the same window as the feature partials; they carry no
/// feature counts (<see cref="DriftAggregate.Count"/> stays the number of feature events). Beside the latency topology,
/// which already routes malformed and late predictions of the same partitions, it skips what it has no use for instead
/// of dead-lettering it twice (<paramref name="routesBadRecords"/> false); without the latency topology it routes them
/// itself. Either way it skips valid predictions it does not aggregate (errors, shadows, models without a score
/// reference).
/// </summary>
/// <param name="codec">Decodes predictions.</param>
/// <param name="profiles">Reference profiles by model.</param>
/// <param name="routesBadRecords">Dead-letter undecodable predictions and late-route late ones (no latency topology runs).</param>
public sealed class ScoreDriftTopology(EventCodec codec, IReadOnlyDictionary<string, ReferenceProfile> profiles, bool routesBadRecords = false) : IStageTopology<ModelDriftAggregate>
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
        if (!codec.TryDeserialize<Prediction>(value, out var prediction, out var error) || prediction is null)
        {
            // Routed here, or skipped (empty key, no time) because the latency topology routes it.
            reasonCode = error?.ReasonCode ?? "DECODE";
            reason = error?.Message ?? "Not a prediction.";
            return !routesBadRecords;
        }

        if (string.IsNullOrEmpty(prediction.ModelName) || prediction.ModelName.Contains('|', StringComparison.Ordinal) || prediction.ModelVersion.Contains('|', StringComparison.Ordinal))
        {
            // The same rule as the latency topology's and the quality join's, so every consumer rejects the same records.
            reasonCode = "BAD_MODEL_NAME";
            reason = $"Model name '{prediction.ModelName}' / version '{prediction.ModelVersion}' is empty or contains '|'.";
            return !routesBadRecords;
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
