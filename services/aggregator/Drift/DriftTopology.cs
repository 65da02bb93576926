using Confluent.Kafka;
using StreamMonitor.Aggregator.Topology;
using StreamMonitor.Analytics;
using StreamMonitor.Analytics.Drift;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.State;
using StreamMonitor.Contracts.Validation;
using StreamMonitor.Kafka;
using StreamMonitor.Streams;

namespace StreamMonitor.Aggregator.Drift;

/// <summary>
/// Input drift per model against its reference profile: stage A reads feature events (the model's inputs), stage B
/// builds <see cref="DriftWindowResult"/>. Feature events carry no model version, so results use version "all".
/// Valid events of a model without a profile only advance the stream time and are counted
/// (<see cref="ITaskMetrics.DriftSkipped"/>): the model is scored and monitored for latency and quality, its drift is
/// simply not computed. Feature events the record policy rejects are counted by reason; the scorer, which reads every
/// feature record, dead-letters them, so this topology does only when <paramref name="deadLetterRejected"/> (no scorer).
/// </summary>
/// <param name="inputs">Decodes and validates the feature events.</param>
/// <param name="codec">Encodes the results.</param>
/// <param name="profiles">Reference profiles by model.</param>
/// <param name="thresholds">Drift decision thresholds.</param>
/// <param name="topics">Topic names.</param>
/// <param name="deadLetterRejected">Dead-letter rejected feature events (Aggregator:DeadLetterFeatures).</param>
/// <param name="metrics">Counts the events of models without a profile (optional).</param>
public sealed class DriftTopology(InputRecords inputs, EventCodec codec, IReadOnlyDictionary<string, ReferenceProfile> profiles, DriftThresholds thresholds, TopicCatalog topics, bool deadLetterRejected = false, ITaskMetrics? metrics = null) : IStageTopology<ModelDriftAggregate>, IResultBuilder
{
    /// <inheritdoc />
    public WindowKind Kind => WindowKind.Drift;

    /// <inheritdoc />
    public string ResultTopic => topics.DriftResults;

    /// <summary>
    /// The feature partitions, and the prediction partitions when a profile has a score reference (their
    /// <see cref="ScoreDriftTopology"/> partials belong to the same windows).
    /// </summary>
    public IReadOnlyList<string> Sources { get; } = Enumerable.Range(0, topics.InputPartitions).Select(p => PartialRecords.SourceOf(topics.Features, p))
        .Concat(profiles.Values.Any(p => p.Score is not null) ? Enumerable.Range(0, topics.InputPartitions).Select(p => PartialRecords.SourceOf(topics.Predictions + ScoreDriftTopology.ScoreSourceSuffix, p)) : [])
        .ToList();

    /// <inheritdoc />
    public ModelDriftAggregate Create() => new();

    /// <inheritdoc />
    public IStateCodec<ModelDriftAggregate> Codec => ModelDriftAggregate.Codec;

    /// <inheritdoc />
    public bool DeadLettersRejected => deadLetterRejected;

    /// <summary>Whether the merge can build a result for <paramref name="window"/>: its model still has a profile.</summary>
    public bool Covers(WindowKey window) => profiles.ContainsKey(window.ModelName);

    /// <inheritdoc />
    public Rejection? TryRead(ConsumeResult<byte[], byte[]> record, out string key, out long eventTimeMs, out Action<ModelDriftAggregate> update)
    {
        key = "";
        eventTimeMs = 0;
        update = static _ => { };
        if (!inputs.Features(record).TryGet(out var features, out var rejection))
        {
            return rejection;
        }

        eventTimeMs = features.EventTimeMs;
        if (!profiles.TryGetValue(features.ModelName, out var profile))
        {
            // Not an error: a model may be served without a drift profile. The model name is hostile input, so the
            // counter has no model label.
            metrics?.DriftSkipped();
            return null;
        }

        key = ModelKey.AllVersions(features.ModelName).ToString();
        update = aggregate => aggregate.Add(profile, features);
        return null;
    }

    /// <inheritdoc />
    public byte[] Build(WindowKey window, IReadOnlyList<byte[]> partialStates)
    {
        ArgumentNullException.ThrowIfNull(partialStates);
        var profile = profiles[window.ModelName];
        var merged = new DriftAggregate(profile);
        foreach (var state in partialStates)
        {
            using var reader = new BinaryReader(new MemoryStream(state, writable: false));
            if (ModelDriftAggregate.Codec.ReadVersioned(reader).State is { } part)
            {
                merged.MergeFrom(part);
            }
        }

        var (features, share, datasetDrift) = DriftStatistics.Window(profile, merged, thresholds);
        return codec.Serialize(window.Stamp(new DriftWindowResult
        {
            Count = merged.Count,
            ReferenceId = profile.Id,
            Features = features,
            DriftedShare = share,
            DatasetDrift = datasetDrift,
        }));
    }
}

/// <summary>Pane state of one model: created lazily with the model's profile shape.</summary>
public sealed class ModelDriftAggregate : IMergeable<ModelDriftAggregate>
{
    /// <summary>The counts (null until the first event).</summary>
    public DriftAggregate? State { get; set; }

    /// <summary>Adds one feature event.</summary>
    public void Add(ReferenceProfile profile, FeatureEvent features)
    {
        ArgumentNullException.ThrowIfNull(profile);
        ArgumentNullException.ThrowIfNull(features);
        State ??= new DriftAggregate(profile);
        State.Count++;
        for (var i = 0; i < profile.Numeric.Count; i++)
        {
            var name = profile.Numeric[i].Name;
            State.Numeric[i].Add(profile.Numeric[i], features.Features.TryGetValue(name, out var value) ? value : null);
        }

        for (var i = 0; i < profile.Categorical.Count; i++)
        {
            var name = profile.Categorical[i].Name;
            State.Categorical[i].Add(profile.Categorical[i], features.Categorical.TryGetValue(name, out var value) ? value : null);
        }
    }

    /// <summary>Adds one prediction score (null: a null of the score column) to the score cells.</summary>
    public void AddScore(ReferenceProfile profile, double? score)
    {
        ArgumentNullException.ThrowIfNull(profile);
        var reference = profile.Score ?? throw new InvalidOperationException($"The profile of {profile.Model} has no score reference.");
        State ??= new DriftAggregate(profile);
        State.Score!.Add(reference, score);
    }

    /// <summary>
    /// The pane state's binary format, in checkpoints and partials: version 2 is the version byte, a presence flag, then
    /// the counts as a versioned <see cref="DriftAggregate.Codec"/> record. Releases before it stored the flag and the
    /// counts with no version byte; the flag (0 or 1, as <see cref="BinaryWriter.Write(bool)"/> writes it) stands where
    /// the version byte now is, so those records read as version 0 (no counts) and version 1 (counts follow).
    /// </summary>
    public static IStateCodec<ModelDriftAggregate> Codec { get; } = new Format();

    /// <inheritdoc />
    public void MergeFrom(ModelDriftAggregate other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other.State is null)
        {
            return;
        }

        if (State is null)
        {
            using var buffer = new MemoryStream();
            using (var writer = new BinaryWriter(buffer, System.Text.Encoding.UTF8, leaveOpen: true))
            {
                DriftAggregate.Codec.WriteVersioned(writer, other.State);
            }

            buffer.Position = 0;
            using var reader = new BinaryReader(buffer);
            State = DriftAggregate.Codec.ReadVersioned(reader);
            return;
        }

        State.MergeFrom(other.State);
    }

    private sealed class Format : IStateCodec<ModelDriftAggregate>
    {
        public byte Version => 2;

        public byte OldestVersion => 0;

        public void Write(BinaryWriter writer, ModelDriftAggregate value)
        {
            ArgumentNullException.ThrowIfNull(writer);
            ArgumentNullException.ThrowIfNull(value);
            writer.Write(value.State is not null);
            if (value.State is not null) DriftAggregate.Codec.WriteVersioned(writer, value.State);
        }

        public ModelDriftAggregate Read(BinaryReader reader, byte version)
        {
            ArgumentNullException.ThrowIfNull(reader);
            var present = version switch
            {
                0 => false,
                1 => true,
                _ => reader.ReadBoolean(),
            };
            return new ModelDriftAggregate { State = present ? DriftAggregate.Codec.ReadVersioned(reader) : null };
        }
    }
}
