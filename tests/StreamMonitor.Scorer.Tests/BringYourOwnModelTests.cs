using System.Globalization;
using System.Text.Json;
using StreamMonitor.Contracts;
using StreamMonitor.Testing;
using Xunit.Abstractions;

namespace StreamMonitor.Scorer.Tests;

/// <summary>
/// The models of examples/models/, registered once with `streammon models add` (the CLI as a process, as a user
/// runs it) into a store the tests share.
/// </summary>
public sealed class RegisteredExportedModels : IAsyncLifetime
{
    /// <summary>The store root.</summary>
    public string Store { get; } = Directory.CreateTempSubdirectory("streammon-byom-").FullName;

    /// <summary>What `models add` printed for each model.</summary>
    public Dictionary<string, string> AddOutput { get; } = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        foreach (var model in ExportedModel.All)
        {
            var (exit, output) = await StreammonCli.RunAsync(model.AddArguments(Store));
            Assert.True(exit == 0, $"models add {model.Name} exited {exit}:\n{output}");
            AddOutput[model.Name] = output;
        }
    }

    /// <inheritdoc />
    public Task DisposeAsync()
    {
        Directory.Delete(Store, recursive: true);
        return Task.CompletedTask;
    }
}

/// <summary>
/// Bring your own model (issue #12): ONNX files as torch.onnx.export, skl2onnx and onnxmltools write them
/// (examples/models/make_models.py) are registered with `streammon models add` and then scored by the streaming
/// scorer, by `streammon score` and by `streammon models check` exactly as their framework scored the same rows:
/// dynamic and fixed batch axes, float and double inputs, [N], [N,1], [N,2] and [N,K] outputs, label outputs beside
/// the probabilities, ZipMap outputs with int64 and string keys, logits. Signatures the scorer cannot serve are
/// refused by `models add` with exit code 2 and one line that names the fix.
/// </summary>
public sealed class BringYourOwnModelTests(EmbeddedKafkaFixture cluster, RegisteredExportedModels registered, ITestOutputHelper output)
    : IClassFixture<EmbeddedKafkaFixture>, IClassFixture<RegisteredExportedModels>, IDisposable
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("streammon-byom-scratch-").FullName;

    public static TheoryData<string> ModelNames()
    {
        var data = new TheoryData<string>();
        foreach (var model in ExportedModel.All)
        {
            data.Add(model.Name);
        }

        return data;
    }

    [Fact]
    public void The_examples_cover_every_signature_the_issue_names()
    {
        Assert.Equal(
            ["sklearn-iris-zipmap", "sklearn-linear-regression", "sklearn-logreg", "sklearn-logreg-double", "sklearn-logreg-zipmap", "torch-diabetes-1d", "torch-iris-logits", "torch-mlp", "torch-mlp-fixed-batch-1", "torch-mlp-fixed-batch-8", "xgboost-binary"],
            ExportedModel.All.Select(m => m.Name));
        var added = registered.AddOutput;
        Assert.Contains("'double_input': double [N,30]", added["sklearn-logreg-double"], StringComparison.Ordinal);
        Assert.Contains("'features': float [8,30]", added["torch-mlp-fixed-batch-8"], StringComparison.Ordinal);
        Assert.Contains("fixed at 8 row(s) in the graph: each batch runs as 8-row chunks", added["torch-mlp-fixed-batch-8"], StringComparison.Ordinal);
        Assert.Contains("'prediction': float [N], regression", added["torch-diabetes-1d"], StringComparison.Ordinal);
        Assert.Contains("'variable': float [N,1], regression", added["sklearn-linear-regression"], StringComparison.Ordinal);
        Assert.Contains("'probabilities': float [N,2], binary, score = P(class 1) = column 1", added["xgboost-binary"], StringComparison.Ordinal);
        Assert.Contains("label   'label' is not read", added["sklearn-logreg"], StringComparison.Ordinal);
        Assert.Contains("'output_probability': sequence of map(int64, float), binary", added["sklearn-logreg-zipmap"], StringComparison.Ordinal);
        Assert.Contains("sequence of map(string, float), multiclass over 3 classes, score = top probability, classes setosa,versicolor,virginica", added["sklearn-iris-zipmap"], StringComparison.Ordinal);
        Assert.Contains("'logits': float [N,3], multiclass over 3 classes, score = top probability, logits (sigmoid/softmax applied)", added["torch-iris-logits"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_streaming_scorer_scores_every_registered_export_as_its_framework_does()
    {
        var options = cluster.CreateOptions();
        var models = ExportedModel.All;
        var events = models.SelectMany(m => m.Events()).ToList();
        using (var producer = ScorerHarness.Producer(options))
        {
            foreach (var featureEvent in events)
            {
                ScorerHarness.Produce(producer, options, featureEvent);
            }

            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
        }

        // Batches of up to 5 rows: several per model, partial chunks of the fixed-batch-8 export, 1-row runs of the other.
        var served = models.Select((m, i) => $"--Scorer:Models:{i.ToString(CultureInfo.InvariantCulture)}={m.Name}").ToArray();
        await using var app = await ScorerHarness.StartScorerAsync(options, registered.Store, [.. served, "--Scorer:BatchSize=5", "--Scorer:QueueDelay=20ms"]);
        var predictions = ScorerHarness.Read<Prediction>(options, options.Topics.Predictions, r => r.Count >= events.Count, TimeSpan.FromSeconds(90)).Select(r => r.Value).ToList();
        await app.StopAsync();

        Assert.Equal(events.Count, predictions.Count);
        Assert.All(predictions, p => Assert.True(p.Status == PredictionStatus.OK, $"{p.ModelName} {p.EventId}: {p.ErrorReason}"));
        foreach (var model in models)
        {
            var mine = predictions.Where(p => p.ModelName == model.Name).ToList();
            output.WriteLine($"{model.Name}: batch sizes {string.Join(',', mine.Select(p => p.Timing.BatchSize))}");
            model.AssertMatches(mine.ToDictionary(p => p.EventId, p => (p.Score!.Value, p.PredictedClass, (IReadOnlyList<double>)p.Probabilities)));
        }
    }

    [Theory]
    [MemberData(nameof(ModelNames))]
    public async Task Streammon_score_scores_a_registered_export_as_its_framework_does(string name)
    {
        var model = ExportedModel.All.Single(m => m.Name == name);
        var file = Path.Combine(_scratch, name + ".jsonl");
        var (exit, text) = await StreammonCli.RunAsync("score", "--model", name, "--store", registered.Store, "--input-csv", model.SamplePath, "--output-file", file, "--batch-size", "5", "--batches-in-flight", "1", "--intra-op-threads", "1");
        Assert.True(exit == 0, text);
        var answers = new Dictionary<string, (double, int?, IReadOnlyList<double>)>(StringComparer.Ordinal);
        foreach (var line in File.ReadLines(file))
        {
            using var json = JsonDocument.Parse(line);
            var p = json.RootElement;
            Assert.True(p.GetProperty("status").GetInt32() == (int)PredictionStatus.OK, line);
            var predicted = p.GetProperty("predicted_class");
            answers[p.GetProperty("event_id").GetString()!] = (
                p.GetProperty("score").GetDouble(),
                predicted.ValueKind == JsonValueKind.Null ? null : predicted.GetInt32(),
                p.GetProperty("probabilities").EnumerateArray().Select(v => v.GetDouble()).ToArray());
        }

        Assert.Equal(model.EventIds.Count, answers.Count);
        model.AssertMatches(answers);
    }

    [Theory]
    [MemberData(nameof(ModelNames))]
    public async Task Models_check_prints_the_outputs_the_scorer_publishes_next_to_the_manifest(string name)
    {
        var model = ExportedModel.All.Single(m => m.Name == name);
        var (exit, text) = await StreammonCli.RunAsync("models", "check", name, "--store", registered.Store, "--data", model.SamplePath, "--rows", "100");
        output.WriteLine(text);
        Assert.Equal(0, exit);
        Assert.Contains($"{name} version 1 (sha256 ", text, StringComparison.Ordinal);
        Assert.Contains("  input   '", text, StringComparison.Ordinal);
        Assert.Contains("  output  '", text, StringComparison.Ordinal);
        var answers = new Dictionary<string, (double, int?, IReadOnlyList<double>)>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            var match = System.Text.RegularExpressions.Regex.Match(line, @"^  (\S+)  score (\S+)(?:  class (\d+)[^\[]*)?  output \[([^\]]*)\]$");
            if (match.Success)
            {
                var values = match.Groups[4].Value.Split(", ").Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();
                answers[match.Groups[1].Value] = (
                    double.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture),
                    match.Groups[3].Success ? int.Parse(match.Groups[3].Value, CultureInfo.InvariantCulture) : null,
                    model.Probabilities.Count > 0 ? values : []);
            }
        }

        Assert.Equal(model.EventIds.Count, answers.Count);
        model.AssertMatches(answers);
    }

    /// <summary>examples/models/unsupported/: graphs the scorer cannot serve, and what the refusal must tell the user to do.</summary>
    [Theory]
    [InlineData("two-inputs", "the model has 2 inputs (a float [N,3], b float [N,3])", "export it with a single input")]
    [InlineData("image-input", "input 'pixels' is float [N,1,4,4]", "export the model with a 2-D input")]
    [InlineData("int64-input", "input 'codes' is int64 [N,3]", "export the model with a float input")]
    [InlineData("label-only", "the model has only label outputs (label int64 [N])", "export them too")]
    [InlineData("two-score-outputs", "2 outputs the scorer could read (probabilities float [N,3], total float [1,1])", "name the probabilities (or score) output with --output NAME")]
    [InlineData("output-3d", "output 'scores' is float [N,2,3]", "export the scores in one of those shapes")]
    [InlineData("dynamic-width-output", "output 'probabilities' is float [N,N]: its width (one value per class) is not fixed", "export it with a fixed number of columns")]
    [InlineData("non-finite-output", "outputs on the feature means (from --features-from) are not finite", "")]
    [InlineData("runtime-error", "ONNX Runtime could not run the model on batches of 1 and 8 rows: [ErrorCode:Fail] Non-zero status code returned while running Reshape node", "re-export it and try it at several batch sizes")]
    public async Task Models_add_refuses_an_unsupported_signature_with_exit_code_2_and_one_line_naming_the_fix(string file, string found, string fix)
    {
        var onnx = Path.Combine(StreammonCli.RepositoryRoot, "examples", "models", "unsupported", file + ".onnx");
        var columns = file is "non-finite-output" or "runtime-error" ? "--features-from=" + TestPaths.DataFile("breast_cancer_wisconsin.csv") : "--features=a,b,c";
        var (exit, text) = await StreammonCli.RunAsync("models", "add", "--store", _scratch, "--name", file, "--onnx", onnx, columns);
        AssertUserError(exit, text, found, fix);
        Assert.False(Directory.Exists(Path.Combine(_scratch, file)), "nothing is written for a refused model");
    }

    /// <summary>What the graph cannot say and the user got wrong: each refused with what to do.</summary>
    [Theory]
    [InlineData("sklearn-linear-regression", "", "one value per row, which may be a probability, a logit or a regression value", "pass --kind binary (a probability of class 1), --kind binary --logits (a logit), or --kind regression")]
    [InlineData("sklearn-linear-regression", "--kind=multiclass", "has 1 value(s) per row, which cannot be --kind multiclass", "regression 1")]
    [InlineData("torch-diabetes-1d", "--kind=regression --logits", "--logits applies to classifiers", "")]
    [InlineData("sklearn-logreg-zipmap", "--classes=benign,malignant", "a ZipMap whose keys are 0,1", "--classes must list exactly those keys")]
    [InlineData("torch-iris-logits", "--classes=a,b", "has 3 classes but --classes lists 2", "give one name per class")]
    [InlineData("torch-diabetes-1d", "--kind=regression --classes=a,b", "--classes applies to classifiers only.", "")]
    [InlineData("torch-mlp", "--threshold=1.5", "--threshold 1.5 is not a probability", "give a value in 0..1")]
    [InlineData("torch-mlp", "--input=x", "the model has no input 'x'; its inputs: features float [N,30]", "")]
    [InlineData("sklearn-logreg", "--output=label", "output 'label' is int64 [N]: class labels, not scores", "name the probabilities output with --output NAME")]
    public async Task Models_add_refuses_options_that_do_not_fit_the_graph_with_exit_code_2_and_the_fix(string name, string options, string found, string fix)
    {
        var model = ExportedModel.All.Single(m => m.Name == name);
        var extra = options.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var (exit, text) = await StreammonCli.RunAsync(["models", "add", "--store", _scratch, "--name", "x", "--onnx", model.OnnxPath, "--features-from", Path.Combine(StreammonCli.RepositoryRoot, model.FeaturesFrom), .. extra]);
        AssertUserError(exit, text, found, fix);
    }

    [Fact]
    public async Task Feature_names_must_match_the_input_columns_and_a_file_must_be_an_onnx_model()
    {
        var torch = ExportedModel.All.Single(m => m.Name == "torch-mlp");
        var (exit, text) = await StreammonCli.RunAsync("models", "add", "--store", _scratch, "--name", "x", "--onnx", torch.OnnxPath, "--features", "a,b");
        AssertUserError(exit, text, "input 'features' is float [N,30]: 30 features, but 2 were named", "name one feature per input column");

        (exit, text) = await StreammonCli.RunAsync("models", "add", "--store", _scratch, "--name", "x", "--onnx", torch.OnnxPath, "--features-from", Path.Combine(StreammonCli.RepositoryRoot, "examples", "models", "data", "iris.csv"));
        AssertUserError(exit, text, "but " + Path.Combine(StreammonCli.RepositoryRoot, "examples", "models", "data", "iris.csv") + " has 4 feature columns", "name the model's features with --features a,b,c");

        (exit, text) = await StreammonCli.RunAsync("models", "add", "--store", _scratch, "--name", "x", "--onnx", torch.OnnxPath);
        AssertUserError(exit, text, "name the features in input column order", "--features-from DATA.csv");

        (exit, text) = await StreammonCli.RunAsync("models", "add", "--store", _scratch, "--name", "x", "--onnx", torch.SamplePath, "--features", "a");
        AssertUserError(exit, text, "is not a model ONNX Runtime can load", "");

        (exit, text) = await StreammonCli.RunAsync("models", "check", "nothing-here", "--store", _scratch, "--data", torch.SamplePath);
        AssertUserError(exit, text, "no version of nothing-here", "streammon models add registers one");
    }

    [Fact]
    public async Task A_model_registered_without_data_has_no_feature_means_and_is_served_only_under_the_reject_policy()
    {
        var torch = ExportedModel.All.Single(m => m.Name == "torch-mlp");
        var features = string.Join(',', torch.FeatureNames);
        var (exit, text) = await StreammonCli.RunAsync("models", "add", "--store", _scratch, "--name", "plain", "--onnx", torch.OnnxPath, "--features", features);
        Assert.True(exit == 0, text);
        Assert.Contains("no feature means (no --features-from): only the Reject policy can serve it", text, StringComparison.Ordinal);

        var file = Path.Combine(_scratch, "plain.jsonl");
        (exit, text) = await StreammonCli.RunAsync("score", "--model", "plain", "--store", _scratch, "--input-csv", torch.SamplePath, "--output-file", file, "--non-finite", "ImputeMean");
        AssertUserError(exit, text, "plain 1 has no feature means (registered without --features-from)", "register it again with --features-from DATA.csv, or use the Reject policy");

        (exit, text) = await StreammonCli.RunAsync("score", "--model", "plain", "--store", _scratch, "--input-csv", torch.SamplePath, "--output-file", file);
        Assert.True(exit == 0, text);
        Assert.Equal(torch.EventIds.Count, File.ReadLines(file).Count());

        (exit, text) = await StreammonCli.RunAsync("score", "--model", "plain", "--store", _scratch, "--input-csv", torch.SamplePath, "--output-file", file, "--batches-in-flight", "0");
        Assert.True(exit == 2, text);
        Assert.Contains("--batches-in-flight must be in 1..64.", text, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    /// <summary>Exit code 2, one "error:" line holding <paramref name="found"/> and <paramref name="fix"/>, no stack trace.</summary>
    private void AssertUserError(int exit, string text, string found, string fix)
    {
        output.WriteLine(text);
        Assert.Equal(2, exit);
        var errors = text.Split('\n').Where(l => l.StartsWith("error: ", StringComparison.Ordinal)).ToList();
        Assert.Single(errors);
        Assert.Contains(found, errors[0], StringComparison.Ordinal);
        Assert.Contains(fix, errors[0], StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", text, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", text, StringComparison.Ordinal);
    }
}
