using System.Globalization;
using StreamMonitor.Analytics.Drift;
using StreamMonitor.Contracts;
using StreamMonitor.Models;
using StreamMonitor.Models.Inference;
using StreamMonitor.Models.Store;
using StreamMonitor.Models.Training;
using StreamMonitor.Testing;

namespace StreamMonitor.Aggregator.Tests;

/// <summary>
/// A model store with two versions of "cancer" trained on the real data set: version 1 an MLP, version 2 a logistic
/// regression (so the two score the same rows differently and the chosen version shows in the scores).
/// </summary>
public sealed class ScoredModelStore : IDisposable
{
    /// <summary>Builds the store in a temporary folder.</summary>
    public ScoredModelStore()
    {
        Scratch = Directory.CreateTempSubdirectory("streammon-profile-score-");
        Versions = new Dictionary<string, ModelBuildResult>(StringComparer.Ordinal)
        {
            ["1"] = Build("1", "mlp"),
            ["2"] = Build("2", "lr"),
        };
    }

    /// <summary>Temporary folder (the store is under it).</summary>
    public DirectoryInfo Scratch { get; }

    /// <summary>Model store root.</summary>
    public string StoreRoot => Path.Combine(Scratch.FullName, "models");

    /// <summary>The built versions with their trained networks.</summary>
    public IReadOnlyDictionary<string, ModelBuildResult> Versions { get; }

    /// <summary>The real data set.</summary>
    public static string DataSet => Path.Combine(StreammonCli.RepositoryRoot, "data", "breast_cancer_wisconsin.csv");

    /// <summary>
    /// The scores the independent in-process forward pass (<see cref="DenseNetwork.Forward"/>, not ONNX Runtime) gives
    /// the rows of <paramref name="csv"/>, read with <see cref="OutputReader"/>; features are taken by name, and a
    /// null cell is replaced by the training mean (what ImputeMean does) when <paramref name="impute"/>, else the row is skipped.
    /// </summary>
    public IReadOnlyList<double> ExpectedScores(string version, string csv, bool impute = false)
    {
        var built = Versions[version];
        var lines = File.ReadAllLines(csv).Where(l => l.Length > 0).ToList();
        var header = lines[0].Split(',');
        var scores = new List<double>();
        foreach (var line in lines.Skip(1))
        {
            var cells = line.Split(',');
            var input = new float[built.Manifest.Features.Count];
            var complete = true;
            for (var j = 0; j < input.Length; j++)
            {
                var cell = cells[Array.IndexOf(header, built.Manifest.Features[j])];
                if (cell.Length == 0)
                {
                    complete = false;
                    input[j] = (float)built.Manifest.FeatureMeans[j];
                }
                else
                {
                    input[j] = (float)double.Parse(cell, CultureInfo.InvariantCulture);
                }
            }

            if (complete || impute)
            {
                var prediction = new Prediction();
                OutputReader.Apply(built.Manifest, built.Network.Forward(input, 1), prediction);
                scores.Add(prediction.Score!.Value);
            }
        }

        return scores;
    }

    /// <inheritdoc />
    public void Dispose() => Scratch.Delete(recursive: true);

    /// <summary>
    /// The profile's score reference holds the scores <paramref name="expected"/> up to float rounding (ONNX Runtime
    /// against the in-process forward pass): same count, moments, extremes, and below every grid edge the profile's
    /// count lies between the counts of expected scores below edge − tolerance and below edge + tolerance.
    /// </summary>
    public static void AssertScoreReference(NumericProfile? score, IReadOnlyList<double> expected, double tolerance = 1e-5)
    {
        Assert.NotNull(score);
        Assert.Equal(ReferenceScorer.ScoreFeature, score.Name);
        Assert.Equal(expected.Count, score.Count);
        Assert.Equal(0, score.Nulls);
        var sorted = expected.Order().ToArray();
        var mean = sorted.Average();
        Assert.Equal(sorted[0], score.Min, tolerance);
        Assert.Equal(sorted[^1], score.Max, tolerance);
        Assert.Equal(mean, score.Mean, tolerance);
        Assert.Equal(Math.Sqrt(sorted.Sum(s => (s - mean) * (s - mean)) / sorted.Length), score.Std, tolerance);
        long below = 0;
        for (var i = 0; i < score.Grid.Length - 1; i++)
        {
            var edge = score.Grid[i];
            Assert.InRange(below, sorted.Count(s => s < edge - tolerance), sorted.Count(s => s < edge + tolerance));
            below += score.GridCounts[i];
        }
    }

    private ModelBuildResult Build(string version, string kind) => ModelBuilder.Build(new ModelBuildRequest
    {
        DataPath = DataSet,
        StoreRoot = StoreRoot,
        Name = "cancer",
        Version = version,
        Kind = kind,
        Settings = new TrainingSettings { Seed = 7, Hidden = [16, 8], Epochs = 60 },
    });
}

/// <summary>`streammon profile build --data ... --score-with-store`: the score reference from a stored model run through ONNX Runtime.</summary>
public sealed class ProfileScoreReferenceTests(ScoredModelStore store) : IClassFixture<ScoredModelStore>
{
    [Fact]
    public async Task The_score_reference_of_a_csv_holds_the_chosen_model_versions_scores_of_every_row()
    {
        // The data set with its columns reversed: features are mapped by name, not position.
        var lines = File.ReadAllLines(ScoredModelStore.DataSet).Where(l => l.Length > 0).ToList();
        var csv = Path.Combine(store.Scratch.FullName, "reversed.csv");
        await File.WriteAllLinesAsync(csv, lines.Select(l => string.Join(',', l.Split(',').Reverse())));
        var latest = Path.Combine(store.Scratch.FullName, "latest.json");
        var first = Path.Combine(store.Scratch.FullName, "v1.json");
        var plain = Path.Combine(store.Scratch.FullName, "plain.json");

        var (exit, output) = await StreammonCli.RunAsync("profile", "build", "--data", csv, "--model", "cancer", "--out", latest, "--score-with-store", store.StoreRoot);
        Assert.True(exit == 0, output);
        Assert.Contains($"all {lines.Count - 1} rows scored", output, StringComparison.Ordinal);
        (exit, output) = await StreammonCli.RunAsync("profile", "build", "--data", csv, "--model", "cancer", "--out", first, "--score-with-store", store.StoreRoot, "--score-version", "1");
        Assert.True(exit == 0, output);
        (exit, output) = await StreammonCli.RunAsync("profile", "build", "--data", csv, "--model", "cancer", "--out", plain);
        Assert.True(exit == 0, output);

        var latestProfile = ReferenceProfile.Load(latest);
        var firstProfile = ReferenceProfile.Load(first);
        ScoredModelStore.AssertScoreReference(latestProfile.Score, store.ExpectedScores("2", csv));
        ScoredModelStore.AssertScoreReference(firstProfile.Score, store.ExpectedScores("1", csv));
        Assert.NotEqual(latestProfile.Score!.Mean, firstProfile.Score!.Mean);
        Assert.Contains("cancer 2", latestProfile.Source, StringComparison.Ordinal);
        Assert.Contains("cancer 1", firstProfile.Source, StringComparison.Ordinal);

        // The input features are profiled exactly as without scoring.
        var plainProfile = ReferenceProfile.Load(plain);
        Assert.Null(plainProfile.Score);
        Assert.Equal(plainProfile.Rows, latestProfile.Rows);
        Assert.Equal(plainProfile.Numeric.Select(n => (n.Name, n.Count, n.Mean, n.Grid.Length)), latestProfile.Numeric.Select(n => (n.Name, n.Count, n.Mean, n.Grid.Length)));
    }

    [Fact]
    public async Task Rows_with_missing_values_are_rejected_and_counted_as_the_scorer_rejects_them_or_imputed_with_ImputeMean()
    {
        // Blank one feature in 5 rows and another in 2 (one row has both): 6 rows have a missing value.
        var lines = File.ReadAllLines(ScoredModelStore.DataSet).Where(l => l.Length > 0).ToList();
        var header = lines[0].Split(',');
        var radius = Array.IndexOf(header, store.Versions["2"].Manifest.Features[0]);
        var texture = Array.IndexOf(header, store.Versions["2"].Manifest.Features[1]);
        string Blank(string line, params int[] columns)
        {
            var cells = line.Split(',');
            foreach (var c in columns)
            {
                cells[c] = "";
            }

            return string.Join(',', cells);
        }

        foreach (var row in new[] { 3, 50, 100, 200, 300 })
        {
            lines[row] = Blank(lines[row], radius);
        }

        lines[300] = Blank(lines[300], texture);
        lines[400] = Blank(lines[400], texture);
        var csv = Path.Combine(store.Scratch.FullName, "gaps.csv");
        await File.WriteAllLinesAsync(csv, lines);
        var rejected = Path.Combine(store.Scratch.FullName, "rejected.json");
        var imputed = Path.Combine(store.Scratch.FullName, "imputed.json");

        var (exit, output) = await StreammonCli.RunAsync("profile", "build", "--data", csv, "--model", "cancer", "--out", rejected, "--score-with-store", store.StoreRoot);
        Assert.True(exit == 0, output);
        Assert.Contains($"{lines.Count - 7} of {lines.Count - 1} rows scored; 6 rejected", output, StringComparison.Ordinal);
        Assert.Contains("VALIDATION_NULL_VALUE: 6", output, StringComparison.Ordinal);
        ScoredModelStore.AssertScoreReference(ReferenceProfile.Load(rejected).Score, store.ExpectedScores("2", csv));

        (exit, output) = await StreammonCli.RunAsync("profile", "build", "--data", csv, "--model", "cancer", "--out", imputed, "--score-with-store", store.StoreRoot, "--score-non-finite", "ImputeMean");
        Assert.True(exit == 0, output);
        ScoredModelStore.AssertScoreReference(ReferenceProfile.Load(imputed).Score, store.ExpectedScores("2", csv, impute: true));
    }

    [Fact]
    public async Task Conflicting_options_missing_feature_columns_and_unknown_models_or_versions_fail_with_a_clear_message()
    {
        var profile = Path.Combine(store.Scratch.FullName, "never.json");
        var (exit, output) = await StreammonCli.RunAsync("profile", "build", "--data", ScoredModelStore.DataSet, "--model", "cancer", "--out", profile, "--score-with-store", store.StoreRoot, "--score-column", "label");
        Assert.Equal(2, exit);
        Assert.Contains("either --score-column", output, StringComparison.Ordinal);

        (exit, output) = await StreammonCli.RunAsync("profile", "build", "--data", ScoredModelStore.DataSet, "--model", "cancer", "--out", profile, "--score-version", "1");
        Assert.Equal(2, exit);
        Assert.Contains("--score-version needs --score-with-store", output, StringComparison.Ordinal);

        // A reference file without one of the model's feature columns.
        var lines = File.ReadAllLines(ScoredModelStore.DataSet).Where(l => l.Length > 0).ToList();
        var dropped = store.Versions["2"].Manifest.Features[4];
        var column = Array.IndexOf(lines[0].Split(','), dropped);
        var csv = Path.Combine(store.Scratch.FullName, "dropped.csv");
        await File.WriteAllLinesAsync(csv, lines.Select(l => string.Join(',', l.Split(',').Where((_, i) => i != column))));
        (exit, output) = await StreammonCli.RunAsync("profile", "build", "--data", csv, "--model", "cancer", "--out", profile, "--score-with-store", store.StoreRoot);
        Assert.Equal(1, exit);
        Assert.Contains($"no column for 1 of the 30 features of cancer 2: {dropped}", output, StringComparison.Ordinal);

        (exit, output) = await StreammonCli.RunAsync("profile", "build", "--data", ScoredModelStore.DataSet, "--model", "cancer", "--out", profile, "--score-with-store", store.StoreRoot, "--score-version", "9");
        Assert.Equal(1, exit);
        Assert.Contains("has no version '9'", output, StringComparison.Ordinal);

        (exit, output) = await StreammonCli.RunAsync("profile", "build", "--data", ScoredModelStore.DataSet, "--model", "other", "--out", profile, "--score-with-store", store.StoreRoot);
        Assert.Equal(1, exit);
        Assert.Contains("No version of model 'other'", output, StringComparison.Ordinal);
        Assert.False(File.Exists(profile));
    }
}

/// <summary>`streammon profile build` from a features-topic range with `--score-with-store`.</summary>
[Collection(AggregatorProcessCollection.Name)]
public sealed class ProfileScoreReferenceFromTopicTests(AggregatorProcessFixture fixture)
{
    [Fact]
    public async Task The_score_reference_of_a_topic_range_holds_the_models_scores_of_the_events_in_the_range()
    {
        using var store = new ScoredModelStore();
        var lines = File.ReadAllLines(ScoredModelStore.DataSet).Where(l => l.Length > 0).ToList();
        var header = lines[0].Split(',');
        var rows = lines.Skip(1).Take(300).ToList();
        var csv = Path.Combine(store.Scratch.FullName, "range.csv");
        await File.WriteAllLinesAsync(csv, rows.Prepend(lines[0]));

        var options = fixture.Kafka.CreateOptions();
        const long from = 1_763_900_000_000;
        using (var producer = fixture.Kafka.CreateProducer(options))
        {
            void Produce(string model, long eventTime, string row, string id) =>
                CsvFeatureEvents.Produce(producer, fixture.Kafka.Codec, options.Topics, header, row, model, eventTime, id);

            for (var i = 0; i < rows.Count; i++)
            {
                Produce("cancer", from + (i * 1_000), rows[i], $"cancer-{i}");
                Produce("other", from + (i * 1_000), rows[(i + 11) % rows.Count], $"other-{i}");
            }

            // Outside the range: not scored.
            foreach (var (row, i) in lines.Skip(301).Take(20).Select((r, i) => (r, i)))
            {
                Produce("cancer", from - 1 - i, row, $"before-{i}");
            }

            producer.Flush(TimeSpan.FromSeconds(30));
        }

        var profile = Path.Combine(store.Scratch.FullName, "topic.json");
        var (exit, output) = await StreammonCli.RunAsync("profile", "build", "--model", "cancer", "--out", profile, "--score-with-store", store.StoreRoot, "--score-version", "1",
            "--bootstrap-servers", fixture.Kafka.BootstrapServers, "--suffix", options.Topics.Suffix,
            "--from-ms", from.ToString(CultureInfo.InvariantCulture), "--to-ms", (from + (rows.Count * 1_000)).ToString(CultureInfo.InvariantCulture));
        Assert.True(exit == 0, output);
        Assert.Contains($"all {rows.Count} rows scored", output, StringComparison.Ordinal);
        var topic = ReferenceProfile.Load(profile);
        Assert.Equal(rows.Count, topic.Rows);
        ScoredModelStore.AssertScoreReference(topic.Score, store.ExpectedScores("1", csv));
    }
}
