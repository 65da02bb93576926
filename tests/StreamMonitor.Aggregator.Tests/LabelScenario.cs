using System.Globalization;
using StreamMonitor.Contracts;

namespace StreamMonitor.Aggregator.Tests;

/// <summary>
/// Generated predictions of model "fraud" (versions "1" and "2") and their labels. Predictions spread evenly over a
/// span, 5 % arriving 30 s late on the topic (so some of their labels arrive first), 3 % errors, scores quantised to
/// 0.01 (ties, which the AUC must handle). Labels: 75 % one label (delay 1 s to 5 min, topic order shuffled by up to
/// 20 s), 7 % two labels 10 s apart with different values (first wins), 8 % one label past the 10 min horizon, 10 %
/// none; labels of error predictions; 2 % labels of unknown ids. Unambiguous against the horizon by construction: a
/// delay is at most 5 min or past the horizon, so the order of release cannot change which pairs join.
/// </summary>
public sealed class LabelScenario
{
    /// <summary>Label horizon the scenario is built around.</summary>
    public const long HorizonMs = 600_000;

    /// <summary>Quality window size.</summary>
    public const long WindowMs = 60_000;

    /// <summary>Default start of the predictions' event times (20 s into a minute).</summary>
    public const long DefaultStartMs = 1_763_800_020_000;

    public List<(Prediction Prediction, long Arrival)> Predictions { get; } = [];

    public List<(Label Label, long Arrival)> Labels { get; } = [];

    /// <summary>
    /// <paramref name="count"/> predictions over <paramref name="spanMs"/> from <paramref name="startMs"/>; the labels past
    /// the horizon come <paramref name="expiredDelayMs"/> after their prediction.
    /// </summary>
    public static LabelScenario Generate(int count, int seed, long startMs = DefaultStartMs, long spanMs = 1_200_000, long expiredDelayMs = 3 * HorizonMs / 2)
    {
        var random = new Random(seed);
        var scenario = new LabelScenario();
        for (var i = 0; i < count; i++)
        {
            var id = "q-" + i.ToString(CultureInfo.InvariantCulture);
            var eventTime = startMs + (i * spanMs / count);
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
                var labelTime = eventTime + expiredDelayMs;
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

    /// <summary>
    /// Every OK prediction's window holds exactly the metrics of its joined pairs: the first label of an id in topic
    /// order joins when it lies within the horizon. Returns the number of windows checked.
    /// </summary>
    public int AssertExact(IReadOnlyDictionary<string, QualityWindowResult> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        var firstLabel = FirstLabels();
        var checkedWindows = 0;
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
            Assert.Equal((2 * tp) + fp + fn == 0 ? null : 2.0 * tp / ((2 * tp) + fp + fn), result.F1);
            var logLoss = joined.Average(j =>
            {
                var p = Math.Min(Math.Max(j.Score, 1e-15), 1 - 1e-15);
                return j.Y == 1 ? -Math.Log(p) : -Math.Log(1 - p);
            });
            Assert.Equal(logLoss, result.LogLoss!.Value, 9);
            Assert.Equal(joined.Average(j => (j.Score - j.Y) * (j.Score - j.Y)), result.Brier!.Value, 12);

            // AUC by brute force over every (positive, negative) pair, ties counting one half; undefined without both classes.
            var positives = joined.Where(j => j.Y == 1).Select(j => j.Score).ToList();
            var negatives = joined.Where(j => j.Y == 0).Select(j => j.Score).ToList();
            if (positives.Count > 0 && negatives.Count > 0)
            {
                var wins = positives.Sum(p => negatives.Sum(q => p > q ? 1.0 : p == q ? 0.5 : 0.0));
                Assert.Equal(wins / (positives.Count * (double)negatives.Count), result.RocAuc!.Value, 12);
            }
            else
            {
                Assert.Null(result.RocAuc);
            }

            var delays = joined.Select(j => j.Delay).Order().ToArray();
            Assert.Equal(delays[(int)Math.Ceiling(0.50 * delays.Length) - 1], result.LabelDelayP50Ms);
            Assert.Equal(delays[(int)Math.Ceiling(0.90 * delays.Length) - 1], result.LabelDelayP90Ms);
            Assert.Equal(delays[(int)Math.Ceiling(0.99 * delays.Length) - 1], result.LabelDelayP99Ms);
            Assert.Null(result.Mae);
            checkedWindows++;
        }

        return checkedWindows;
    }

    /// <summary>
    /// How many labels must be dead-lettered for each reason: unknown ids, ids of error predictions, every label of an
    /// OK prediction after its first (in topic order), and first labels past the horizon.
    /// </summary>
    public IReadOnlyDictionary<string, int> ExpectedLabelDeadLetters()
    {
        var predictions = Predictions.Select(p => p.Prediction).ToDictionary(p => p.EventId, StringComparer.Ordinal);
        var ok = Labels.Where(l => predictions.TryGetValue(l.Label.EventId, out var p) && p.Status == PredictionStatus.OK).ToList();
        return new Dictionary<string, int>(StringComparer.Ordinal)
        {
            ["LABEL_UNKNOWN_PREDICTION"] = Labels.Count(l => !predictions.ContainsKey(l.Label.EventId)),
            ["LABEL_ERROR_PREDICTION"] = Labels.Count(l => predictions.TryGetValue(l.Label.EventId, out var p) && p.Status != PredictionStatus.OK),
            ["LABEL_DUPLICATE"] = ok.Count - ok.Select(l => l.Label.EventId).Distinct(StringComparer.Ordinal).Count(),
            ["LABEL_EXPIRED"] = FirstLabels().Count(f => predictions.TryGetValue(f.Key, out var p) && p.Status == PredictionStatus.OK && f.Value.LabelTimeMs - p.EventTimeMs > HorizonMs),
        };
    }

    /// <summary>Window key of a quality window of the scenario.</summary>
    public static string Key(string version, long start) => new WindowKey(WindowKind.Quality, "fraud", version, start, WindowMs).ToString();

    /// <summary>The first label of every id in topic (arrival) order.</summary>
    private Dictionary<string, Label> FirstLabels() =>
        Labels.OrderBy(l => l.Arrival).GroupBy(l => l.Label.EventId).ToDictionary(g => g.Key, g => g.First().Label, StringComparer.Ordinal);
}
