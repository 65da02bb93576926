using System.Globalization;
using System.Text;
using StreamMonitor.Aggregator.Quality;
using StreamMonitor.Aggregator.Topology;
using StreamMonitor.Contracts;
using StreamMonitor.Kafka;
using StreamMonitor.Streams;
using StreamMonitor.Testing;

namespace StreamMonitor.Aggregator.Tests;

/// <summary>
/// The quality join fed through the event-time merge of its two lanes, as the service does, with random fetch
/// interleavings (bursts per lane): every interleaving gives byte-identical results, equal to the exact computation.
/// </summary>
public class QualityMergeOrderTests
{
    private static readonly TopicCatalog Topics = new();
    private static readonly EventCodec Codec = new();
    private static readonly Dictionary<string, byte[]> NoChangelog = new(StringComparer.Ordinal);
    private static readonly QualitySettings Settings = new(WindowSpec.Tumbling(TimeSpan.FromMinutes(1)).WithGrace(60_000), LabelScenario.HorizonMs, 60_000, Topics);

    [Fact]
    public void Any_fetch_interleaving_of_the_two_lanes_gives_the_exact_results()
    {
        var scenario = LabelScenario.Generate(4_000, seed: 17);
        Dictionary<string, byte[]>? first = null;
        for (var seed = 0; seed < 3; seed++)
        {
            var results = Run(scenario, new Random(seed));
            scenario.AssertExact(results.ToDictionary(r => r.Key, r => Codec.Deserialize<QualityWindowResult>(r.Value), StringComparer.Ordinal));
            first ??= results;
            Assert.Equal(first.Keys.Order(StringComparer.Ordinal), results.Keys.Order(StringComparer.Ordinal));
            Assert.All(first, r => Assert.True(r.Value.AsSpan().SequenceEqual(results[r.Key]), r.Key));
        }
    }

    [Fact]
    public void A_quiet_task_follows_the_watermark_minus_the_idle_timeout_and_a_busy_one_does_not()
    {
        const long now = 1_763_800_000_000;
        var settings = Settings with { Window = Settings.Window.WithGrace(5_000), IdleTimeoutMs = 120_000 };
        var quiet = new QualityJoinTask(settings, 0, null, NoChangelog, InMemoryPipeline.Inputs(Codec), Codec);
        var output = new RecordingOutput();
        quiet.OnIdle(long.MinValue, output);
        Assert.Empty(output.Records);

        quiet.OnIdle(now, output);
        var watermarks = output.Records.Where(r => r.Topic == Topics.WindowPartials).Select(r => PartialRecords.Parse(r.Value)).ToList();
        Assert.Equal(Topics.ResultPartitions, watermarks.Count);
        Assert.All(watermarks, w => Assert.Null(w.Window));
        Assert.All(watermarks, w => Assert.Equal(now - 120_000, w.StreamTimeMs));

        // A prediction for a window that this frontier closed is late (routed, counted), not silently merged.
        var old = new Prediction { EventId = "old", ModelName = "fraud", ModelVersion = "1", EventTimeMs = now - 300_000, Status = PredictionStatus.OK, Score = 0.7 };
        quiet.Process(TaskDriver.Record(Topics.Predictions, 0, 0, Codec.Serialize(old)), output);
        Assert.Single(output.Records, r => r.Topic == Topics.LateEvents);
        Assert.Equal(1, quiet.Late);

        // A task with an open window never moves on others' time.
        var busy = new QualityJoinTask(settings, 1, null, NoChangelog, InMemoryPipeline.Inputs(Codec), Codec);
        var busyOutput = new RecordingOutput();
        busy.Process(TaskDriver.Record(Topics.Predictions, 1, 0, Codec.Serialize(new Prediction { EventId = "p", ModelName = "fraud", ModelVersion = "1", EventTimeMs = now, Status = PredictionStatus.OK, Score = 0.2 })), busyOutput);
        var before = busyOutput.Records.Count;
        busy.OnIdle(now + 36_000_000, busyOutput);
        Assert.Equal(before, busyOutput.Records.Count);
    }

    [Fact]
    public void Labels_ahead_of_the_predictions_do_not_move_the_progress_other_partitions_idle_rules_read()
    {
        const long now = 1_763_800_000_000;
        var settings = Settings with { Window = Settings.Window.WithGrace(5_000), IdleTimeoutMs = 120_000 };
        var task = new QualityJoinTask(settings, 0, null, NoChangelog, InMemoryPipeline.Inputs(Codec), Codec);
        var output = new RecordingOutput();
        task.Process(TaskDriver.Record(Topics.Predictions, 0, 0, Codec.Serialize(new Prediction { EventId = "p", ModelName = "fraud", ModelVersion = "1", EventTimeMs = now, Status = PredictionStatus.OK, Score = 0.2 })), output);
        task.Process(TaskDriver.Record(Topics.Labels, 0, 0, Codec.Serialize(new Label { EventId = "q", Value = 1, LabelTimeMs = now + 1_800_000 })), output);

        Assert.Equal(now + 1_800_000, task.StreamTime);
        Assert.Equal(now, ((IPartitionTask)task).ProgressTime);

        // A partition that has seen no prediction yet (a scorer slow to start) is not behind on anyone's predictions.
        var board = new ProgressBoard();
        var labelsOnly = new QualityJoinTask(settings, 1, null, NoChangelog, InMemoryPipeline.Inputs(Codec), Codec);
        labelsOnly.Process(TaskDriver.Record(Topics.Labels, 1, 0, Codec.Serialize(new Label { EventId = "r", Value = 0, LabelTimeMs = now + 1_800_000 })), output);
        board.Observe(((IPartitionTask)labelsOnly).ProgressTime);
        var quiet = new QualityJoinTask(settings, 2, null, NoChangelog, InMemoryPipeline.Inputs(Codec), Codec);
        var quietOutput = new RecordingOutput();
        quiet.OnIdle(board.Watermark, quietOutput);
        Assert.Empty(quietOutput.Records);
    }

    [Fact]
    public void A_caught_up_task_emits_the_revision_a_label_made_after_the_last_update_tick()
    {
        const long start = 60_000L * 29_396_667;
        var settings = Settings with { Window = Settings.Window.WithGrace(5_000) };
        var task = new QualityJoinTask(settings, 0, null, NoChangelog, InMemoryPipeline.Inputs(Codec), Codec);
        var output = new RecordingOutput();
        Prediction Pred(string id, long time) => new() { EventId = id, ModelName = "fraud", ModelVersion = "1", EventTimeMs = time, Status = PredictionStatus.OK, Score = 0.8 };
        List<PartialRecord> Partials() => output.Records.Where(r => r.Topic == Topics.WindowPartials).Select(r => PartialRecords.Parse(r.Value)).Where(p => p.Window?.WindowStartMs == start).ToList();

        task.Process(TaskDriver.Record(Topics.Predictions, 0, 0, Codec.Serialize(Pred("a", start + 1_000))), output);
        task.Process(TaskDriver.Record(Topics.Predictions, 0, 1, Codec.Serialize(Pred("c", start + 2_000))), output);
        task.Process(TaskDriver.Record(Topics.Predictions, 0, 2, Codec.Serialize(Pred("b", start + 66_000))), output);
        Assert.Single(Partials());

        // Same update interval as the last tick: the join changes the closed window ("c" still waits), and no tick emits it.
        task.Process(TaskDriver.Record(Topics.Labels, 0, 0, Codec.Serialize(new Label { EventId = "a", Value = 1, LabelTimeMs = start + 67_000 })), output);
        Assert.Single(Partials());

        task.OnIdle(long.MinValue, output);
        Assert.Equal(2, Partials().Count);
        task.OnIdle(long.MinValue, output);
        Assert.Equal(2, Partials().Count);
    }

    private static Dictionary<string, byte[]> Run(LabelScenario scenario, Random random)
    {
        var processor = new QualityProcessor(Settings, InMemoryPipeline.Inputs(Codec), Codec);
        var sentinelTime = scenario.Labels.Max(l => l.Label.LabelTimeMs) + (3 * LabelScenario.HorizonMs);
        var partials = new List<(int Partition, byte[] Key, byte[] Value)>();
        for (var p = 0; p < Topics.InputPartitions; p++)
        {
            var sentinel = PredictionGenerator.Sentinel(sentinelTime, "sentinel-" + p.ToString(CultureInfo.InvariantCulture));
            var lanes = new[]
            {
                scenario.Predictions.OrderBy(x => x.Arrival).Where(x => PartitionOf(x.Prediction.EventId) == p).Select(x => Codec.Serialize(x.Prediction)).Append(Codec.Serialize(sentinel)).ToList(),
                scenario.Labels.OrderBy(x => x.Arrival).Where(x => PartitionOf(x.Label.EventId) == p).Select(x => Codec.Serialize(x.Label)).ToList(),
            };
            var merge = new EventTimeMerge(2, 64);
            var task = processor.Create(p, null, NoChangelog);
            var output = new RecordingOutput();
            var next = new int[2];
            while (next[0] < lanes[0].Count || next[1] < lanes[1].Count)
            {
                var lane = next[0] == lanes[0].Count ? 1 : next[1] == lanes[1].Count ? 0 : random.Next(2);
                for (var n = random.Next(1, 100); n > 0 && next[lane] < lanes[lane].Count; n--)
                {
                    var record = TaskDriver.Record(lane == 0 ? Topics.Predictions : Topics.Labels, p, next[lane], lanes[lane][next[lane]]);
                    merge.Add(lane, record, processor.EventTimeOf(lane, record));
                    next[lane]++;
                }

                if (next[lane] == lanes[lane].Count)
                {
                    merge.MarkEnd(lane);
                }

                while (merge.TryNext(out _, out var released))
                {
                    task.Process(released, output);
                }
            }

            partials.AddRange(output.Records.Where(r => r.Topic == Topics.WindowPartials).Select(r => (r.Partition!.Value, r.Key, r.Value)));
        }

        var topology = new QualityTopology(Codec, Settings);
        // The stage's grace (latency's 5 s) differs from the quality grace, as in the service: the merge must use the latter.
        var settings = new MergeSettings(5_000, 10_000, 3_600_000, Topics.DeadLetter);
        var results = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        for (var p = 0; p < Topics.ResultPartitions; p++)
        {
            var records = partials.Where(r => r.Partition == p).Select((r, offset) => TaskDriver.Record(Topics.WindowPartials, p, offset, r.Value, r.Key)).ToList();
            foreach (var output in TaskDriver.Run(state => new MergeStageTask([topology], settings, state, Codec, new ProgressBoard()), records, crashes: null).Where(o => o.Topic == Topics.QualityResults))
            {
                results[Encoding.UTF8.GetString(output.Key)] = output.Value;
            }
        }

        return results;
    }

    private static int PartitionOf(string id) => Murmur2.Partition(Encoding.UTF8.GetBytes(id), Topics.InputPartitions);
}
