using Confluent.Kafka;
using StreamMonitor.Aggregator.Drift;
using StreamMonitor.Aggregator.Latency;
using StreamMonitor.Aggregator.Topology;
using StreamMonitor.Analytics.Drift;
using StreamMonitor.Analytics.Latency;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.State;
using StreamMonitor.Contracts.Validation;
using StreamMonitor.Kafka;
using StreamMonitor.Streams;
using StreamMonitor.Testing;

namespace StreamMonitor.Aggregator.Tests;

/// <summary>
/// Prediction-score drift through both stages with the service's task classes: features and predictions on 4
/// partitions each, the predictions read by latency and score drift together (<see cref="CompositeTask"/>), merged into
/// one drift result per window whose "prediction_score" entry is checked against a direct computation on the raw scores.
/// </summary>
public class ScoreDriftTests
{
    private const long WindowMs = 60_000;
    private const long SpanMs = 300_000;

    [Fact]
    public void The_score_drift_of_every_window_equals_a_direct_computation_on_its_raw_scores()
    {
        var codec = new EventCodec();
        var topics = new TopicCatalog();
        var random = new Random(5);
        var referenceScores = Enumerable.Range(0, 500).Select(_ => Math.Pow(random.NextDouble(), 2)).ToArray();
        var profile = new ReferenceProfile
        {
            Model = "m",
            Numeric = [NumericProfile.Build("f0", Enumerable.Range(0, 500).Select(_ => random.NextDouble()).ToList())],
            Score = NumericProfile.Build("prediction_score", referenceScores),
        };
        profile.Seal();
        var profiles = new Dictionary<string, ReferenceProfile> { ["m"] = profile };
        var options = new AggregatorOptions { Windows = ["1m"], Grace = TimeSpan.FromSeconds(2), MergeGrace = TimeSpan.FromSeconds(5) };
        var stage = options.ToStageSettings(topics);
        var inputs = InMemoryPipeline.Inputs(codec);
        var drift = new DriftTopology(inputs, codec, profiles, new DriftThresholds(), topics);
        var score = new ScoreDriftTopology(inputs, profiles);
        var latency = new LatencyTopology(inputs, codec, options.EffectiveSliThresholdsUs, topics);
        Assert.Equal(8, drift.Sources.Count);

        // Scores drift upwards over time (√u: more mass near 1 than the reference u²); a few error, shadow and
        // score-less predictions are mixed in.
        var predictions = new List<Prediction>();
        var features = new List<FeatureEvent>();
        for (var i = 0; i < 3_000; i++)
        {
            var t = (long)(random.NextDouble() * SpanMs);
            features.Add(new FeatureEvent { EventId = $"e{i}", ModelName = "m", EventTimeMs = t, Features = new Dictionary<string, double?> { ["f0"] = random.NextDouble() } });
            var kind = random.Next(40);
            predictions.Add(new Prediction
            {
                EventId = $"e{i}",
                ModelName = "m",
                ModelVersion = "1",
                EventTimeMs = t,
                Status = kind == 0 ? PredictionStatus.ERROR : PredictionStatus.OK,
                Shadow = kind == 1,
                Score = kind == 2 ? null : Math.Pow(random.NextDouble(), 0.5 + (1.5 * (1 - (t / (double)SpanMs)))),
                Timing = new PredictionTiming { E2eUs = 100 },
            });
        }

        // Per partition in event-time order, then a sentinel far ahead so every real window closes everywhere.
        var partials = new List<(int Partition, byte[] Key, byte[] Value)>();
        for (var p = 0; p < 4; p++)
        {
            var featureRecords = features.Where((_, i) => i % 4 == p).OrderBy(f => f.EventTimeMs)
                .Append(new FeatureEvent { EventId = "sentinel", ModelName = "m", EventTimeMs = SpanMs * 10, Features = new Dictionary<string, double?>() })
                .Select((f, offset) => TaskDriver.Record(topics.Features, p, offset, codec.Serialize(f))).ToList();
            var predictionRecords = predictions.Where((_, i) => i % 4 == p).OrderBy(x => x.EventTimeMs)
                .Append(new Prediction { EventId = "sentinel", ModelName = "m", ModelVersion = "1", EventTimeMs = SpanMs * 10, Status = PredictionStatus.ERROR })
                .Select((x, offset) => TaskDriver.Record(topics.Predictions, p, offset, codec.Serialize(x))).ToList();
            var partition = p;
            var outputs = TaskDriver.Run(s => new WindowStageTask<ModelDriftAggregate>(drift, stage, new TopicPartition(topics.Features, partition), s, codec), featureRecords, null)
                .Concat(TaskDriver.Run(
                    s => new CompositeTask(
                        [
                            x => new WindowStageTask<LatencyAggregate>(latency, stage, new TopicPartition(topics.Predictions, partition), x, codec),
                            x => new WindowStageTask<ModelDriftAggregate>(score, stage, new TopicPartition(topics.Predictions, partition), x, codec),
                        ],
                        s),
                    predictionRecords,
                    null));
            var list = outputs.ToList();

            // The error predictions are dead-lettered or counted once, by the latency topology only.
            Assert.DoesNotContain(list, o => o.Topic == topics.DeadLetter);
            partials.AddRange(list.Where(o => o.Topic == topics.WindowPartials).Select(o => (o.Partition!.Value, o.Key, o.Value)));
        }

        var results = new Dictionary<long, DriftWindowResult>();
        for (var p = 0; p < topics.ResultPartitions; p++)
        {
            var records = partials.Where(r => r.Partition == p).Select((r, offset) => TaskDriver.Record(topics.WindowPartials, p, offset, r.Value, r.Key)).ToList();
            foreach (var output in TaskDriver.Run(_ => new MergeStageTask([drift, latency], options.ToMergeSettings(topics), null, codec, new ProgressBoard()), records, null)
                .Where(o => o.Topic == topics.DriftResults))
            {
                var result = codec.Deserialize<DriftWindowResult>(output.Value);
                results[result.WindowStartMs] = result;
            }
        }

        var checkedWindows = 0;
        for (long start = 0; start < SpanMs; start += WindowMs)
        {
            var result = results[start];
            var inWindow = predictions.Where(x => x.EventTimeMs >= start && x.EventTimeMs < start + WindowMs && x.Status == PredictionStatus.OK && !x.Shadow).ToList();
            var scores = inWindow.Where(x => x.Score is not null).Select(x => x.Score!.Value).ToArray();
            var drifted = result.Features.Single(f => f.Feature == "prediction_score");
            Assert.Equal(FeatureKind.PREDICTION, drifted.Kind);
            Assert.Equal(features.Count(f => f.EventTimeMs >= start && f.EventTimeMs < start + WindowMs), result.Count);
            Assert.Equal(inWindow.Count, drifted.Count);
            Assert.Equal((double)(inWindow.Count - scores.Length) / inWindow.Count, drifted.NullRate, 12);
            Assert.Equal((double)scores.Count(s => s < referenceScores.Min() || s > referenceScores.Max()) / scores.Length, drifted.OutOfRangeRate!.Value, 12);

            // KS on the grid is a lower bound of the exact two-sample D, within the largest single-cell mass.
            var exact = ExactStatistics.KolmogorovSmirnov(referenceScores, scores);
            var resolution = Math.Max(1.0 / referenceScores.Length, MaxCellMass(profile.Score!, scores));
            Assert.InRange(drifted.KsStatistic!.Value, exact - resolution - 1e-12, exact + 1e-12);
            checkedWindows++;
        }

        Assert.Equal(5, checkedWindows);

        // The first minute's scores (u^2) match the reference; the last one's (≈√u) are far off.
        Assert.False(results[0].Features.Single(f => f.Feature == "prediction_score").Drifted);
        Assert.True(results[SpanMs - WindowMs].Features.Single(f => f.Feature == "prediction_score").Drifted);
    }

    private static double MaxCellMass(NumericProfile reference, double[] values) =>
        values.GroupBy(v => reference.WindowCellOf(v)).Max(g => g.Count()) / (double)values.Length;
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Score_drift_dead_letters_bad_predictions_only_when_no_latency_topology_does(bool routesBadRecords)
    {
        var codec = new EventCodec();
        var topics = new TopicCatalog();
        var random = new Random(9);
        var profile = new ReferenceProfile
        {
            Model = "m",
            Numeric = [NumericProfile.Build("f0", Enumerable.Range(0, 200).Select(_ => random.NextDouble()).ToList())],
            Score = NumericProfile.Build("prediction_score", Enumerable.Range(0, 200).Select(_ => random.NextDouble()).ToList()),
        };
        profile.Seal();
        var options = new AggregatorOptions { Windows = ["1m"], Grace = TimeSpan.FromSeconds(2) };
        var stage = options.ToStageSettings(topics);
        var score = new ScoreDriftTopology(InMemoryPipeline.Inputs(codec), new Dictionary<string, ReferenceProfile> { ["m"] = profile }, routesBadRecords);
        var task = new WindowStageTask<ModelDriftAggregate>(score, stage, new TopicPartition(topics.Predictions, 0), null, codec);
        var output = new RecordingOutput();
        Prediction Ok(string model, string version, long time, PredictionStatus status = PredictionStatus.OK) =>
            new() { EventId = $"{model}-{time}", ModelName = model, ModelVersion = version, EventTimeMs = time, Status = status, Score = status == PredictionStatus.OK ? 0.5 : null };
        var values = new[]
        {
            codec.Serialize(Ok("m", "1", 1_000)),
            [0xde, 0xad, 0xbe, 0xef],
            codec.Serialize(Ok("m", "1|x", 2_000)),
            codec.Serialize(Ok("other", "1", 3_000)),
            codec.Serialize(Ok("m", "1", 4_000, PredictionStatus.ERROR)),
            codec.Serialize(Ok("m", "1", 120_000)),
        };
        for (var offset = 0; offset < values.Length; offset++)
        {
            task.Process(TaskDriver.Record(topics.Predictions, 0, offset, values[offset]), output);
        }

        // The undecodable record and the bad name are routed once by whichever topology routes; valid predictions it
        // does not aggregate (another model, an error) are skipped, never dead-lettered.
        var letters = output.Records.Where(r => r.Topic == topics.DeadLetter).Select(r => codec.Deserialize<DeadLetter>(r.Value)).ToList();
        Assert.Equal(routesBadRecords ? [ReasonCodes.DecodeTruncated, ReasonCodes.InvalidIdentifier] : [], letters.Select(l => l.ReasonCode));
        Assert.All(letters, l => Assert.Equal(topics.Predictions, l.SourceTopic));
        // The first window closed with exactly the one score it aggregates.
        var partial = output.Records.Where(r => r.Topic == topics.WindowPartials).Select(r => PartialRecords.Parse(r.Value)).Single(r => r.Window is not null);
        Assert.Equal(1, score.Codec.Decode(partial.State).State!.Score!.Count);
    }
}
