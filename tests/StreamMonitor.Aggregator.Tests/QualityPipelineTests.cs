using System.Text;
using StreamMonitor.Aggregator.Quality;
using StreamMonitor.Aggregator.Topology;
using StreamMonitor.Contracts;
using StreamMonitor.Kafka;
using StreamMonitor.Streams;

namespace StreamMonitor.Aggregator.Tests;

public class QualityPipelineTests
{
    private const long HorizonMs = 600_000;
    private const long StartMs = 1_763_800_000_000;

    private static readonly TopicCatalog Topics = new();
    private static readonly EventCodec Codec = new();
    private static readonly QualitySettings Settings = new(WindowSpec.Tumbling(TimeSpan.FromMinutes(1)), 60_000, HorizonMs, 60_000, Topics);

    /// <summary>
    /// Predictions over 30 minutes with out-of-order arrival (some 30 s behind, so their labels arrive first), and labels:
    /// 75 % one label (delay 1 s..5 min, arrival order shuffled by up to 20 s), 7 % two labels (the second, with a
    /// different value, arrives 10 s later: first wins), 8 % a label 20 min after the prediction (past the horizon),
    /// 10 % none; labels for error predictions; labels for unknown ids. Unambiguous against the horizon by construction.
    /// </summary>
    private static Scenario Generate(int count, int seed)
    {
        var random = new Random(seed);
        var scenario = new Scenario();
        for (var i = 0; i < count; i++)
        {
            var id = $"q-{i}";
            var eventTime = StartMs + (i * 1_800_000L / count);
            var lag = random.NextDouble() < 0.05 ? 30_000 : random.Next(0, 5_000);
            var error = random.NextDouble() < 0.03;
            // Quantised scores produce ties, which the AUC must handle.
            var score = Math.Round(random.NextDouble(), 2);
            var prediction = new Prediction
            {
                EventId = id,
                ModelName = "fraud",
                ModelVersion = random.NextDouble() < 0.7 ? "1" : "2",
                EventTimeMs = eventTime,
                Status = error ? PredictionStatus.ERROR : PredictionStatus.OK,
                OutputKind = OutputKind.BINARY_PROBABILITY,
                Score = error ? null : score,
            };
            scenario.Predictions.Add((prediction, eventTime + lag));
            var y = random.NextDouble() < (0.2 + (0.6 * score)) ? 1.0 : 0.0;
            var kind = random.NextDouble();
            if (kind < 0.75 || error)
            {
                var labelTime = eventTime + random.Next(1_000, 300_000);
                scenario.Labels.Add((new Label { EventId = id, ModelName = "fraud", Value = y, LabelTimeMs = labelTime }, labelTime + random.Next(0, 20_000)));
            }
            else if (kind < 0.82)
            {
                var labelTime = eventTime + random.Next(1_000, 300_000);
                scenario.Labels.Add((new Label { EventId = id, Value = y, LabelTimeMs = labelTime }, labelTime));
                scenario.Labels.Add((new Label { EventId = id, Value = 1 - y, LabelTimeMs = labelTime + 10_000 }, labelTime + 10_000));
            }
            else if (kind < 0.90)
            {
                var labelTime = eventTime + (2 * HorizonMs);
                scenario.Labels.Add((new Label { EventId = id, Value = y, LabelTimeMs = labelTime }, labelTime));
            }

            if (random.NextDouble() < 0.02)
            {
                var labelTime = eventTime + random.Next(1_000, 300_000);
                scenario.Labels.Add((new Label { EventId = "ghost-" + i, Value = 1, LabelTimeMs = labelTime }, labelTime));
            }
        }

        return scenario;
    }

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

        // Exact join, computed directly: the first-arriving label of an OK prediction joins when it lies within the
        // horizon (generated delays are ≤ 5 min or 20 min, horizon 10 min: no ambiguity).
        var firstLabel = scenario.Labels.OrderBy(l => l.Arrival).GroupBy(l => l.Label.EventId).ToDictionary(g => g.Key, g => g.First().Label);
        var windows = scenario.Predictions.Select(p => p.Prediction).Where(p => p.Status == PredictionStatus.OK)
            .GroupBy(p => (p.ModelVersion, Start: p.EventTimeMs - (p.EventTimeMs % 60_000)));
        var checkedWindows = 0;
        foreach (var window in windows)
        {
            var key = new WindowKey(WindowKind.Quality, "fraud", window.Key.ModelVersion, window.Key.Start, 60_000).ToString();
            Assert.True(results.TryGetValue(key, out var result), key);
            var joined = window.Select(p => (Prediction: p, Label: firstLabel.GetValueOrDefault(p.EventId)))
                .Where(j => j.Label is not null && j.Label.LabelTimeMs - j.Prediction.EventTimeMs <= HorizonMs)
                .Select(j => (Score: j.Prediction.Score!.Value, Y: j.Label!.Value, Delay: j.Label.LabelTimeMs - j.Prediction.EventTimeMs))
                .ToList();
            var n = window.Count();
            Assert.True(result.Final, key);
            Assert.Equal(n, result.Predictions);
            Assert.Equal(joined.Count, result.Labeled);
            Assert.Equal(n - joined.Count, result.ExpiredUnlabeled);
            Assert.Equal(n, result.Revision);
            Assert.Equal((double)joined.Count / n, result.LabelCoverage, 12);
            long tp = joined.Count(j => j.Score >= 0.5 && j.Y == 1), fp = joined.Count(j => j.Score >= 0.5 && j.Y == 0), fn = joined.Count(j => j.Score < 0.5 && j.Y == 1);
            var correct = joined.Count(j => (j.Score >= 0.5) == (j.Y == 1));
            Assert.Equal(correct, result.Correct);
            Assert.Equal((double)correct / joined.Count, result.Accuracy!.Value, 12);
            Assert.Equal((double)tp / (tp + fp), result.Precision!.Value, 12);
            Assert.Equal((double)tp / (tp + fn), result.Recall!.Value, 12);
            Assert.Equal(2.0 * tp / ((2 * tp) + fp + fn), result.F1!.Value, 12);
            var logLoss = joined.Average(j =>
            {
                var p = Math.Min(Math.Max(j.Score, 1e-15), 1 - 1e-15);
                return j.Y == 1 ? -Math.Log(p) : -Math.Log(1 - p);
            });
            Assert.Equal(logLoss, result.LogLoss!.Value, 9);
            Assert.Equal(joined.Average(j => (j.Score - j.Y) * (j.Score - j.Y)), result.Brier!.Value, 12);

            // AUC by brute force over every (positive, negative) pair, ties counting one half.
            var positives = joined.Where(j => j.Y == 1).Select(j => j.Score).ToList();
            var negatives = joined.Where(j => j.Y == 0).Select(j => j.Score).ToList();
            var wins = positives.Sum(p => negatives.Sum(q => p > q ? 1.0 : p == q ? 0.5 : 0.0));
            Assert.Equal(wins / (positives.Count * (double)negatives.Count), result.RocAuc!.Value, 12);

            var delays = joined.Select(j => j.Delay).Order().ToArray();
            Assert.Equal(delays[(int)Math.Ceiling(0.50 * delays.Length) - 1], result.LabelDelayP50Ms);
            Assert.Equal(delays[(int)Math.Ceiling(0.90 * delays.Length) - 1], result.LabelDelayP90Ms);
            Assert.Equal(delays[(int)Math.Ceiling(0.99 * delays.Length) - 1], result.LabelDelayP99Ms);
            Assert.Null(result.Mae);
            checkedWindows++;
        }

        Assert.True(checkedWindows >= 50, $"only {checkedWindows} windows");

        // Every label that did not join is dead-lettered with its reason.
        var reasons = outputs.Where(o => o.Topic == Topics.DeadLetter).Select(o => Codec.Deserialize<DeadLetter>(o.Value).ReasonCode).GroupBy(r => r).ToDictionary(g => g.Key, g => g.Count());
        var okIds = scenario.Predictions.Where(p => p.Prediction.Status == PredictionStatus.OK).Select(p => p.Prediction.EventId).ToHashSet();
        var errorIds = scenario.Predictions.Where(p => p.Prediction.Status != PredictionStatus.OK).Select(p => p.Prediction.EventId).ToHashSet();
        var realLabels = scenario.Labels.Where(l => !l.Label.EventId.StartsWith("sentinel", StringComparison.Ordinal)).ToList();
        Assert.Equal(realLabels.Count(l => l.Label.EventId.StartsWith("ghost", StringComparison.Ordinal)), reasons.GetValueOrDefault("LABEL_UNKNOWN_PREDICTION"));
        Assert.Equal(realLabels.Count(l => errorIds.Contains(l.Label.EventId)), reasons.GetValueOrDefault("LABEL_ERROR_PREDICTION"));
        Assert.Equal(realLabels.Count(l => okIds.Contains(l.Label.EventId)) - firstLabel.Count(f => okIds.Contains(f.Key)), reasons.GetValueOrDefault("LABEL_DUPLICATE"));
        Assert.Equal(firstLabel.Count(f => okIds.Contains(f.Key) && f.Value.LabelTimeMs - scenario.Predictions.First(p => p.Prediction.EventId == f.Key).Prediction.EventTimeMs > HorizonMs), reasons.GetValueOrDefault("LABEL_EXPIRED"));
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
        var line = ResultPoints.Of(result).ToLineProtocol();
        Assert.StartsWith("quality_window,model=fraud,version=2,window=1m ", line, StringComparison.Ordinal);
        Assert.EndsWith(" " + (StartMs * 1_000_000).ToString(System.Globalization.CultureInfo.InvariantCulture), line, StringComparison.Ordinal);
        Assert.Contains("revision=7i", line, StringComparison.Ordinal);
        Assert.Contains("label_delay_p50_ms=1500i", line, StringComparison.Ordinal);
        Assert.Contains("accuracy=0.75", line, StringComparison.Ordinal);
        Assert.DoesNotContain("precision", line, StringComparison.Ordinal);
        Assert.DoesNotContain("roc_auc", line, StringComparison.Ordinal);
    }

    /// <summary>Stage A per partition (both topics, in arrival order), then stage B; all outputs in order.</summary>
    private static List<(string Topic, byte[] Key, byte[] Value)> Run(Scenario scenario, int? crashSeed)
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
            var records = stream.Select(x => InMemoryPipeline.Record(x.Topic, p, offsets[x.Topic]++, x.Value)).ToList();
            var partition = p;
            foreach (var output in InMemoryPipeline.RunTask((state, changelog) => new QualityJoinTask(Settings, partition, state, changelog, Codec), records, random))
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
        var merge = new MergeSettings(Settings.GraceMs, 10_000, 3_600_000, Topics.DeadLetter);
        for (var p = 0; p < Topics.ResultPartitions; p++)
        {
            var records = partials.Where(r => r.Partition == p).Select((r, offset) => InMemoryPipeline.Record(Topics.WindowPartials, p, offset, r.Value, r.Key)).ToList();
            var output = InMemoryPipeline.RunTask(state => new MergeStageTask([topology], merge, state, Codec, new ProgressBoard()), records, random);
            all.AddRange(output.Select(o => (o.Topic, o.Key, o.Value)));
        }

        return all;
    }

    private static Dictionary<string, QualityWindowResult> Latest(IEnumerable<(string Topic, byte[] Key, byte[] Value)> outputs) =>
        outputs.Where(o => o.Topic == Topics.QualityResults)
            .GroupBy(o => Encoding.UTF8.GetString(o.Key))
            .ToDictionary(g => g.Key, g => Codec.Deserialize<QualityWindowResult>(g.Last().Value));

    private static int PartitionOf(string id) => Murmur2.Partition(Encoding.UTF8.GetBytes(id), Topics.InputPartitions);

    private sealed class Scenario
    {
        public List<(Prediction Prediction, long Arrival)> Predictions { get; } = [];

        public List<(Label Label, long Arrival)> Labels { get; } = [];
    }
}
