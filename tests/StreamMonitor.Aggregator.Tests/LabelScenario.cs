using System.Globalization;
using StreamMonitor.Contracts;

namespace StreamMonitor.Aggregator.Tests;

/// <summary>
/// Predictions over 20 minutes (5 % arriving 30 s late on the topic) and their labels: 75 % one label (delay 1 s to
/// 5 min, topic order shuffled by up to 20 s), 7 % two labels 10 s apart with different values (first wins), 8 % a
/// label 15 min after the prediction (past the 10 min horizon), 10 % none; labels of error predictions; 2 % labels of
/// unknown ids.
/// </summary>
public sealed class LabelScenario
{
    /// <summary>Label horizon the scenario is built around (labels 15 min late are past it).</summary>
    public const long HorizonMs = 600_000;

    /// <summary>Quality window size.</summary>
    public const long WindowMs = 60_000;

    private const long StartMs = 1_763_800_020_000;

    public List<(Prediction Prediction, long Arrival)> Predictions { get; } = [];

    public List<(Label Label, long Arrival)> Labels { get; } = [];

    public static LabelScenario Generate(int count, int seed)
    {
        var random = new Random(seed);
        var scenario = new LabelScenario();
        for (var i = 0; i < count; i++)
        {
            var id = "q-" + i.ToString(CultureInfo.InvariantCulture);
            var eventTime = StartMs + (i * 1_200_000L / count);
            var lag = random.NextDouble() < 0.05 ? 30_000 : random.Next(0, 5_000);
            var error = random.NextDouble() < 0.03;
            var score = Math.Round(random.NextDouble(), 2);
            scenario.Predictions.Add((new Prediction
            {
                EventId = id,
                ModelName = "fraud",
                ModelVersion = random.NextDouble() < 0.7 ? "1" : "2",
                EventTimeMs = eventTime,
                Status = error ? PredictionStatus.ERROR : PredictionStatus.OK,
                ErrorReason = error ? "boom" : null,
                OutputKind = OutputKind.BINARY_PROBABILITY,
                Score = error ? null : score,
                Timing = new PredictionTiming { E2eUs = 1_000 },
            }, eventTime + lag));
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
                scenario.Labels.Add((new Label { EventId = id, ModelName = "fraud", Value = y, LabelTimeMs = labelTime }, labelTime));
                scenario.Labels.Add((new Label { EventId = id, ModelName = "fraud", Value = 1 - y, LabelTimeMs = labelTime + 10_000 }, labelTime + 10_000));
            }
            else if (kind < 0.90)
            {
                var labelTime = eventTime + (3 * HorizonMs / 2);
                scenario.Labels.Add((new Label { EventId = id, ModelName = "fraud", Value = y, LabelTimeMs = labelTime }, labelTime));
            }

            if (random.NextDouble() < 0.02)
            {
                var labelTime = eventTime + random.Next(1_000, 300_000);
                scenario.Labels.Add((new Label { EventId = "ghost-" + i.ToString(CultureInfo.InvariantCulture), ModelName = "fraud", Value = 1, LabelTimeMs = labelTime }, labelTime));
            }
        }

        return scenario;
    }

    /// <summary>Every OK prediction's window holds exactly the metrics of its joined pairs.</summary>
    public void AssertExact(IReadOnlyDictionary<string, QualityWindowResult> results)
    {
        // The first label of an id in topic order joins when it lies within the horizon (delays are ≤ 5 min or 15 min
        // against a 10 min horizon, so the order of release cannot change which pairs join).
        var firstLabel = Labels.OrderBy(l => l.Arrival).GroupBy(l => l.Label.EventId).ToDictionary(g => g.Key, g => g.First().Label, StringComparer.Ordinal);
        foreach (var window in Predictions.Select(p => p.Prediction).Where(p => p.Status == PredictionStatus.OK).GroupBy(p => Key(p.ModelVersion, p.EventTimeMs - (p.EventTimeMs % WindowMs))))
        {
            Assert.True(results.TryGetValue(window.Key, out var result), window.Key);
            var joined = window.Select(p => (Prediction: p, Label: firstLabel.GetValueOrDefault(p.EventId)))
                .Where(j => j.Label is not null && j.Label.LabelTimeMs - j.Prediction.EventTimeMs <= HorizonMs)
                .Select(j => (Score: j.Prediction.Score!.Value, Y: j.Label!.Value, Delay: j.Label.LabelTimeMs - j.Prediction.EventTimeMs))
                .ToList();
            var n = window.Count();
            Assert.True(result.Final, window.Key);
            Assert.Equal(n, result.Predictions);
            Assert.Equal(joined.Count, result.Labeled);
            Assert.Equal(n - joined.Count, result.ExpiredUnlabeled);
            Assert.Equal(n, result.Revision);
            Assert.Equal((double)joined.Count / n, result.LabelCoverage, 12);
            long tp = joined.Count(j => j.Score >= 0.5 && j.Y == 1), fp = joined.Count(j => j.Score >= 0.5 && j.Y == 0), fn = joined.Count(j => j.Score < 0.5 && j.Y == 1);
            var correct = joined.Count(j => (j.Score >= 0.5) == (j.Y == 1));
            Assert.Equal(correct, result.Correct);
            Assert.Equal((double)correct / joined.Count, result.Accuracy!.Value, 12);
            Assert.Equal(tp + fp == 0 ? null : (double)tp / (tp + fp), result.Precision);
            Assert.Equal(tp + fn == 0 ? null : (double)tp / (tp + fn), result.Recall);
            var logLoss = joined.Average(j =>
            {
                var p = Math.Min(Math.Max(j.Score, 1e-15), 1 - 1e-15);
                return j.Y == 1 ? -Math.Log(p) : -Math.Log(1 - p);
            });
            Assert.Equal(logLoss, result.LogLoss!.Value, 9);
            Assert.Equal(joined.Average(j => (j.Score - j.Y) * (j.Score - j.Y)), result.Brier!.Value, 12);
            var positives = joined.Where(j => j.Y == 1).Select(j => j.Score).ToList();
            var negatives = joined.Where(j => j.Y == 0).Select(j => j.Score).ToList();
            if (positives.Count > 0 && negatives.Count > 0)
            {
                var wins = positives.Sum(p => negatives.Sum(q => p > q ? 1.0 : p == q ? 0.5 : 0.0));
                Assert.Equal(wins / (positives.Count * (double)negatives.Count), result.RocAuc!.Value, 12);
            }

            var delays = joined.Select(j => j.Delay).Order().ToArray();
            Assert.Equal(delays[(int)Math.Ceiling(0.50 * delays.Length) - 1], result.LabelDelayP50Ms);
            Assert.Equal(delays[(int)Math.Ceiling(0.99 * delays.Length) - 1], result.LabelDelayP99Ms);
        }
    }

    /// <summary>Window key of a quality window of the scenario.</summary>
    public static string Key(string version, long start) => new WindowKey(WindowKind.Quality, "fraud", version, start, WindowMs).ToString();
}
