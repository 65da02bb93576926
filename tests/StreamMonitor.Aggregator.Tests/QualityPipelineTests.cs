using System.Text;
using StreamMonitor.Aggregator.Quality;
using StreamMonitor.Aggregator.Topology;
using StreamMonitor.Contracts;
using StreamMonitor.Kafka;
using StreamMonitor.Streams;
using StreamMonitor.Testing;

namespace StreamMonitor.Aggregator.Tests;

public class QualityPipelineTests
{
    private const long HorizonMs = LabelScenario.HorizonMs;
    private const long StartMs = 1_763_800_000_000;

    private static readonly TopicCatalog Topics = new();
    private static readonly EventCodec Codec = new();
    private static readonly QualitySettings Settings = new(WindowSpec.Tumbling(TimeSpan.FromMinutes(1)).WithGrace(60_000), HorizonMs, 60_000, Topics);

    /// <summary>
    /// The label scenario over 30 minutes from a minute boundary, its labels past the horizon 20 min after their
    /// predictions.
    /// </summary>
    private static LabelScenario Generate(int count, int seed) =>
        LabelScenario.Generate(count, seed, StartMs, spanMs: 1_800_000, expiredDelayMs: 2 * HorizonMs);

    [Fact]
    public void Every_final_quality_result_equals_the_exact_computation_over_the_joined_pairs()
    {
        var scenario = Generate(12_000, seed: 7);
        var predictionArrival = scenario.Predictions.ToDictionary(p => p.Prediction.EventId, p => p.Arrival);
        Assert.True(scenario.Labels.Count(l => predictionArrival.TryGetValue(l.Label.EventId, out var arrival) && l.Arrival < arrival) >= 20, "too few labels before their predictions");
        var labelsByArrival = scenario.Labels.OrderBy(l => l.Arrival).ToList();
        Assert.True(labelsByArrival.Zip(labelsByArrival.Skip(1)).Count(pair => pair.First.Label.LabelTimeMs > pair.Second.Label.LabelTimeMs) >= 100, "too few out-of-order labels");
        var outputs = Run(scenario, crashSeed: null);
        var results = Latest(outputs);

        // Exact join, computed directly (generated delays are ≤ 5 min or 20 min, horizon 10 min: no ambiguity).
        var checkedWindows = scenario.AssertExact(results);
        Assert.True(checkedWindows >= 50, $"only {checkedWindows} windows");

        // Every label that did not join is dead-lettered with its reason.
        var reasons = outputs.Where(o => o.Topic == Topics.DeadLetter).Select(o => Codec.Deserialize<DeadLetter>(o.Value).ReasonCode).GroupBy(r => r).ToDictionary(g => g.Key, g => g.Count());
        foreach (var (reason, count) in scenario.ExpectedLabelDeadLetters())
        {
            Assert.Equal((reason, count), (reason, reasons.GetValueOrDefault(reason)));
        }

        Assert.DoesNotContain(outputs, o => o.Topic == Topics.LateEvents);
    }

    [Fact]
    public void Results_are_upserted_with_rising_revisions_before_the_final_one()
    {
        var outputs = Run(Generate(4_000, seed: 11), crashSeed: null);
        var emissions = outputs.Where(o => o.Topic == Topics.QualityResults).GroupBy(o => Encoding.UTF8.GetString(o.Key)).ToList();
        Assert.Contains(emissions, g => g.Count() > 2);
        foreach (var window in emissions)
        {
            var results = window.Select(o => Codec.Deserialize<QualityWindowResult>(o.Value)).ToList();
            for (var i = 1; i < results.Count; i++)
            {
                Assert.True(results[i].Revision >= results[i - 1].Revision, window.Key);
            }

            Assert.True(results[^1].Final, window.Key);
            Assert.Single(results, r => r.Final);
        }
    }

    [Theory]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void Crashes_with_restore_from_checkpoints_and_replay_give_exactly_the_uninterrupted_results(int seed)
    {
        var scenario = Generate(6_000, seed: 20 + seed);
        var expected = Latest(Run(scenario, crashSeed: null));
        var actual = Latest(Run(scenario, crashSeed: seed));
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (key, result) in expected)
        {
            Assert.Equal(Codec.Serialize(result), Codec.Serialize(actual[key]));
        }
    }

    [Fact]
    public void Quality_point_has_the_window_identity_and_omits_undefined_metrics()
    {
        var result = new QualityWindowResult { ModelName = "fraud", ModelVersion = "2", WindowStartMs = StartMs, WindowSizeMs = 60_000, Revision = 7, Predictions = 10, Labeled = 4, ExpiredUnlabeled = 1, LabelCoverage = 0.4, Correct = 3, Accuracy = 0.75, Precision = null, RocAuc = double.NaN, LabelDelayP50Ms = 1_500 };
        var line = Assert.Single(ResultPoints.Of(result).Points).ToLineProtocol();
        Assert.StartsWith("quality_window,model=fraud,version=2,window=1m ", line, StringComparison.Ordinal);
        Assert.EndsWith(" " + (StartMs * 1_000_000).ToString(System.Globalization.CultureInfo.InvariantCulture), line, StringComparison.Ordinal);
        Assert.Contains("revision=7i", line, StringComparison.Ordinal);
        Assert.Contains("label_delay_p50_ms=1500i", line, StringComparison.Ordinal);
        Assert.Contains("accuracy=0.75", line, StringComparison.Ordinal);
        Assert.DoesNotContain("precision", line, StringComparison.Ordinal);
        Assert.DoesNotContain("roc_auc", line, StringComparison.Ordinal);
    }

    /// <summary>Stage A per partition (both topics, in arrival order), then stage B; all outputs in order.</summary>
    private static List<(string Topic, byte[] Key, byte[] Value)> Run(LabelScenario scenario, int? crashSeed)
    {
        var random = crashSeed is { } s ? new Random(s) : null;
        var lastArrival = Math.Max(scenario.Predictions.Max(p => p.Arrival), scenario.Labels.Max(l => l.Arrival));
        var partitions = Topics.InputPartitions;
        var partials = new List<(int Partition, byte[] Key, byte[] Value)>();
        var all = new List<(string Topic, byte[] Key, byte[] Value)>();
        for (var p = 0; p < partitions; p++)
        {
            // A sentinel far in the future closes and finalises every real window on every partition.
            var sentinel = new Prediction { EventId = $"sentinel-{p}", ModelName = "sentinel", ModelVersion = "0", EventTimeMs = lastArrival + (3 * HorizonMs), Status = PredictionStatus.OK, Score = 0.5 };
            var stream = scenario.Predictions.Where(x => PartitionOf(x.Prediction.EventId) == p).Select(x => (x.Arrival, Topic: Topics.Predictions, Value: Codec.Serialize(x.Prediction)))
                .Concat(scenario.Labels.Where(x => PartitionOf(x.Label.EventId) == p).Select(x => (x.Arrival, Topic: Topics.Labels, Value: Codec.Serialize(x.Label))))
                .OrderBy(x => x.Arrival).ThenBy(x => x.Topic, StringComparer.Ordinal)
                .Append((Arrival: sentinel.EventTimeMs, Topic: Topics.Predictions, Value: Codec.Serialize(sentinel)))
                .ToList();
            var offsets = new Dictionary<string, long>(StringComparer.Ordinal) { [Topics.Predictions] = 0, [Topics.Labels] = 0 };
            var records = stream.Select(x => TaskDriver.Record(x.Topic, p, offsets[x.Topic]++, x.Value)).ToList();
            var partition = p;
            foreach (var output in TaskDriver.Run((state, changelog) => new QualityJoinTask(Settings, partition, state, changelog, InMemoryPipeline.Inputs(Codec), Codec), records, random))
            {
                if (output.Topic == Topics.WindowPartials)
                {
                    partials.Add((output.Partition!.Value, output.Key, output.Value));
                }
                else
                {
                    all.Add((output.Topic, output.Key, output.Value));
                }
            }
        }

        var topology = new QualityTopology(Codec, Settings);
        var merge = new MergeSettings(Settings.Window.GraceMs, 10_000, 3_600_000, Topics.DeadLetter);
        for (var p = 0; p < Topics.ResultPartitions; p++)
        {
            var records = partials.Where(r => r.Partition == p).Select((r, offset) => TaskDriver.Record(Topics.WindowPartials, p, offset, r.Value, r.Key)).ToList();
            var output = TaskDriver.Run(state => new MergeStageTask([topology], merge, state, Codec, new ProgressBoard()), records, random);
            all.AddRange(output.Select(o => (o.Topic, o.Key, o.Value)));
        }

        return all;
    }

    private static Dictionary<string, QualityWindowResult> Latest(IEnumerable<(string Topic, byte[] Key, byte[] Value)> outputs) =>
        outputs.Where(o => o.Topic == Topics.QualityResults)
            .GroupBy(o => Encoding.UTF8.GetString(o.Key))
            .ToDictionary(g => g.Key, g => Codec.Deserialize<QualityWindowResult>(g.Last().Value));

    private static int PartitionOf(string id) => Murmur2.Partition(Encoding.UTF8.GetBytes(id), Topics.InputPartitions);
}
