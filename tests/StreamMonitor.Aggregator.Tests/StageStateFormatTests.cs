using Confluent.Kafka;
using StreamMonitor.Aggregator.Drift;
using StreamMonitor.Aggregator.Topology;
using StreamMonitor.Analytics.Drift;
using StreamMonitor.Analytics.Latency;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.State;
using StreamMonitor.Kafka;
using StreamMonitor.Streams;
using StreamMonitor.Testing;

namespace StreamMonitor.Aggregator.Tests;

/// <summary>
/// The stage tasks restore checkpoints written before task states had a header (and drift panes a version byte), and
/// the drift merge reads partials of that release: a restart or replay across the upgrade loses nothing.
/// </summary>
public sealed class StageStateFormatTests
{
    /// <summary>The task-state header of version 1: eight bytes of long.MinValue, then the version.</summary>
    private const string HeaderHex = "000000000000008001";

    [Fact]
    public void A_latency_stage_restores_a_checkpoint_without_the_header_and_goes_on_exactly_as_from_its_own()
    {
        var pipeline = new InMemoryPipeline(new AggregatorOptions { Windows = ["10s", "20s"], Grace = TimeSpan.FromSeconds(1) });
        WindowStageTask<LatencyAggregate> Task(byte[]? state) => new(pipeline.Topology, pipeline.Stage, new TopicPartition(pipeline.Topics.Predictions, 0), state, pipeline.Codec);
        var offset = 0L;
        void Feed(WindowStageTask<LatencyAggregate> task, RecordingOutput output, long time) =>
            task.Process(TaskDriver.Record(pipeline.Topics.Predictions, 0, offset++, pipeline.Codec.Serialize(new Prediction { EventId = "e" + time, ModelName = "m", ModelVersion = "1", EventTimeMs = time, Timing = new PredictionTiming { E2eUs = 10 + time } })), output);

        var task = Task(null);
        foreach (var time in new long[] { 1_000, 12_000, 3_000, 15_000, 31_000, 2_000 })
        {
            Feed(task, new RecordingOutput(), time);
        }

        task.Process(TaskDriver.Record(pipeline.Topics.Predictions, 0, offset++, [1, 2, 3]), new RecordingOutput());
        var state = task.Snapshot();
        Assert.StartsWith(HeaderHex + "01", Convert.ToHexString(state), StringComparison.Ordinal);

        // The former layout: no header, the table without its version byte; latency panes were already versioned.
        var legacy = state[10..];
        var restored = Task(legacy);
        Assert.Equal((2L, 1L), (restored.Late, restored.Malformed));
        Assert.Equal(state, restored.Snapshot());

        var (fromLegacy, fromState) = (new RecordingOutput(), new RecordingOutput());
        var resumed = Task(state);
        foreach (var time in new long[] { 33_000, 45_000, 70_000 })
        {
            Feed(restored, fromLegacy, time);
            Feed(resumed, fromState, time);
        }

        Assert.NotEmpty(fromState.Records);
        Assert.Equal(fromState.Records.Select(r => (r.Topic, r.Partition, Convert.ToHexString(r.Key), Convert.ToHexString(r.Value))), fromLegacy.Records.Select(r => (r.Topic, r.Partition, Convert.ToHexString(r.Key), Convert.ToHexString(r.Value))));
    }

    [Fact]
    public void A_drift_stage_restores_panes_without_a_version_byte_and_the_merge_reads_partials_without_one()
    {
        var codec = new EventCodec();
        var topics = new TopicCatalog();
        var profile = new ReferenceProfile { Model = "m", Numeric = [NumericProfile.Build("f0", [0.1, 0.2, 0.3, 0.4])], Categorical = [CategoricalProfile.Build("c", ["a", "b"])] };
        profile.Seal();
        var profiles = new Dictionary<string, ReferenceProfile> { ["m"] = profile };
        var options = new AggregatorOptions { Windows = ["10s"], Grace = TimeSpan.FromSeconds(10) };
        var stage = options.ToStageSettings(topics);
        var drift = new DriftTopology(InMemoryPipeline.Inputs(codec), codec, profiles, new DriftThresholds(), topics);
        WindowStageTask<ModelDriftAggregate> Task(byte[]? state) => new(drift, stage, new TopicPartition(topics.Features, 0), state, codec);
        var offset = 0L;
        void Feed(WindowStageTask<ModelDriftAggregate> task, RecordingOutput output, long time, double value, string model = "m") =>
            task.Process(TaskDriver.Record(topics.Features, 0, offset++, codec.Serialize(new FeatureEvent { EventId = "e" + time, ModelName = model, EventTimeMs = time, Features = new Dictionary<string, double?> { ["f0"] = value }, Categorical = new Dictionary<string, string?> { ["c"] = value > 0.2 ? "a" : "new" } })), output);

        var task = Task(null);
        Feed(task, new RecordingOutput(), 1_000, 0.15);
        Feed(task, new RecordingOutput(), 12_000, 0.35);
        Feed(task, new RecordingOutput(), 14_000, 0.25);
        Feed(task, new RecordingOutput(), 25_000, 0.2, model: "unprofiled");
        Feed(task, new RecordingOutput(), 3_000, 0.1); // late: counted in a pane of [20 s, 30 s), which has no counts
        var state = task.Snapshot();
        var legacy = Legacy(state);
        Assert.Equal(state.Length - 10 - 2, legacy.Length);
        var restored = Task(legacy);
        Assert.Equal(state, restored.Snapshot());

        var (fromLegacy, fromState) = (new RecordingOutput(), new RecordingOutput());
        Feed(restored, fromLegacy, 40_000, 0.3);
        Feed(Task(state), fromState, 40_000, 0.3);
        var partials = fromState.Records.Select(r => PartialRecords.Parse(r.Value)).Where(p => p.Window is not null).ToList();
        Assert.Equal(partials.Select(p => Convert.ToHexString(p.State)), fromLegacy.Records.Select(r => PartialRecords.Parse(r.Value)).Where(p => p.Window is not null).Select(p => Convert.ToHexString(p.State)));

        // A partial of the former release holds the pane without its version byte: the merge builds the same result.
        Assert.Equal(["0200"], partials.Select(p => Convert.ToHexString(p.State)).Where(s => s.Length == 4));
        Assert.Equal(2, partials.Count);
        foreach (var partial in partials)
        {
            Assert.Equal(2, partial.State[0]);
            Assert.Equal(drift.Build(partial.Window!.Value, [partial.State]), drift.Build(partial.Window!.Value, [partial.State[1..]]));
        }
    }

    [Fact]
    public void The_merge_restores_a_checkpoint_without_the_header()
    {
        var pipeline = new InMemoryPipeline(new AggregatorOptions { Windows = ["10s"], Grace = TimeSpan.FromSeconds(1), IdleTimeout = TimeSpan.FromSeconds(5), MergeGrace = TimeSpan.FromSeconds(2), MergeRetention = TimeSpan.FromSeconds(20) });
        var merge = new MergeStageTask([pipeline.Topology], pipeline.Merge, null, pipeline.Codec, new ProgressBoard());
        var sources = pipeline.Topology.Sources;
        var aggregate = pipeline.Topology.Create();
        aggregate.Add(new Prediction { EventId = "e", ModelName = "m", ModelVersion = "1", EventTimeMs = 1_000, Timing = new PredictionTiming { E2eUs = 1_000 } });
        var offset = 0L;
        void Feed(MergeStageTask task, byte[] value) => task.Process(TaskDriver.Record(pipeline.Topics.WindowPartials, 0, offset++, value), new RecordingOutput());
        Feed(merge, PartialRecords.PartialValue(new WindowKey(WindowKind.Latency, "m", "1", 0, 10_000), sources[0], true, pipeline.Topology.Codec.Encode(aggregate)));
        Feed(merge, PartialRecords.WatermarkValue(sources[0], 12_000));
        Feed(merge, PartialRecords.WatermarkValue(sources[1], long.MinValue, idle: true));
        var state = merge.Snapshot();
        Assert.StartsWith(HeaderHex, Convert.ToHexString(state), StringComparison.Ordinal);

        var restored = new MergeStageTask([pipeline.Topology], pipeline.Merge, state[9..], pipeline.Codec, new ProgressBoard());
        Assert.Equal((1, 12_000L), (restored.OpenWindows, restored.StreamTime));
        Assert.Equal(state, restored.Snapshot());
    }

    /// <summary>A drift stage state as the former release wrote it: no header, no table version byte, panes without theirs.</summary>
    private static byte[] Legacy(byte[] state)
    {
        using var reader = new BinaryReader(new MemoryStream(state));
        reader.BaseStream.Position = 10;
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer))
        {
            writer.Write(reader.ReadInt64());
            writer.Write(reader.ReadInt64());
            var panes = reader.ReadInt32();
            writer.Write(panes);
            for (var i = 0; i < panes; i++)
            {
                writer.Write(reader.ReadString());
                writer.Write(reader.ReadInt32());
                writer.Write(reader.ReadInt64());
                var start = (int)reader.BaseStream.Position;
                ModelDriftAggregate.Codec.ReadVersioned(reader);
                writer.Write(state.AsSpan(start + 1, (int)reader.BaseStream.Position - start - 1));
            }

            writer.Write(state.AsSpan((int)reader.BaseStream.Position));
        }

        return buffer.ToArray();
    }
}
