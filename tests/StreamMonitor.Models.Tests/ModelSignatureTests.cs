using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using StreamMonitor.Contracts;
using StreamMonitor.Models.Inference;
using StreamMonitor.Models.Store;
using StreamMonitor.Testing;

namespace StreamMonitor.Models.Tests;

/// <summary>
/// How <see cref="ModelSession"/> serves the signatures exporters write, below the CLI: fixed batch sizes as
/// padded chunks, float64 inputs at full precision, ZipMap keys to the manifest's columns, and hand-written
/// manifests that do not describe the graph refused with what to change.
/// </summary>
public sealed class ModelSignatureTests : IDisposable
{
    private static readonly SessionSettings Settings = new() { MaxBatchRows = 20, IntraOpThreads = 1, Provider = ExecutionProviderChoice.Cpu };
    private readonly string _store = Directory.CreateTempSubdirectory("streammon-signature-").FullName;

    [Fact]
    public void A_fixed_batch_export_runs_every_batch_size_as_padded_chunks_with_the_outputs_of_the_dynamic_export()
    {
        using var dynamic = Open("torch-mlp");
        using var fixed8 = Open("torch-mlp-fixed-batch-8");
        using var fixed1 = Open("torch-mlp-fixed-batch-1");
        Assert.Equal((0, 8, 1), (dynamic.Signature.FixedBatch, fixed8.Signature.FixedBatch, fixed1.Signature.FixedBatch));
        var events = ExportedModel.All.Single(m => m.Name == "torch-mlp").Events();
        foreach (var rows in new[] { 1, 7, 8, 9, 16, 20 })
        {
            foreach (var session in new[] { dynamic, fixed8, fixed1 })
            {
                var validator = new FeatureValidator(session.Model.Manifest, NonFinitePolicy.Reject, rejectExtraFeatures: false);
                for (var r = 0; r < rows; r++)
                {
                    Assert.Null(validator.Fill(events[(r + rows) % events.Count], session, r));
                }

                session.Run(rows);
            }

            for (var r = 0; r < rows; r++)
            {
                Assert.Equal(dynamic.OutputRow(r)[0], fixed8.OutputRow(r)[0], 1e-6f);
                Assert.Equal(dynamic.OutputRow(r)[0], fixed1.OutputRow(r)[0], 1e-6f);
            }
        }
    }

    [Theory]
    [InlineData("torch-mlp")]
    [InlineData("torch-mlp-fixed-batch-8")]
    [InlineData("sklearn-logreg-double")]
    [InlineData("torch-iris-logits")]
    [InlineData("torch-diabetes-1d")]
    public void Filling_running_and_reading_a_tensor_output_allocates_nothing(string name)
    {
        using var session = Open(name);
        var validator = new FeatureValidator(session.Model.Manifest, NonFinitePolicy.Reject, rejectExtraFeatures: false);
        var events = ExportedModel.All.Single(m => m.Name == name).Events();
        var sum = 0.0;
        void Batch(int rows)
        {
            for (var r = 0; r < rows; r++)
            {
                Assert.Null(validator.Fill(events[r % events.Count], session, r));
            }

            session.Run(rows);
            for (var r = 0; r < rows; r++)
            {
                sum += session.OutputRow(r)[0];
            }
        }

        Batch(13); // first runs may initialise lazily
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 50; i++)
        {
            Batch(1 + (i % 20));
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.True(double.IsFinite(sum));
    }

    [Fact]
    public void A_torch_export_that_keeps_one_row_in_its_graph_is_served_in_one_row_chunks()
    {
        var cancer = ExportedModel.All.Single(m => m.Name == "torch-mlp");
        var manifest = new ModelManifest { Name = "onerow", Version = "1", Features = cancer.FeatureNames };
        byte[] Export(string file) => File.ReadAllBytes(Path.Combine(TestPaths.RepositoryRoot, "tests", "models", "fixed-batch", file));
        using var reference = ModelSession.Create(new StoredModel(manifest, Export("dynamic-batch.onnx"), "", ""), Settings, NullLogger.Instance);
        using var onerow = ModelSession.Create(new StoredModel(manifest, Export("warmup-fails.onnx"), "", ""), Settings, NullLogger.Instance);
        Assert.Equal(1, onerow.Signature.FixedBatch); // its input is declared [N,30], but ONNX Runtime infers its output as [1,1]
        Assert.True(onerow.WarmUp());
        var validator = new FeatureValidator(manifest, NonFinitePolicy.Reject, rejectExtraFeatures: false);
        var events = cancer.Events();
        foreach (var session in new[] { reference, onerow })
        {
            for (var r = 0; r < events.Count; r++)
            {
                Assert.Null(validator.Fill(events[r], session, r));
            }

            session.Run(events.Count);
        }

        for (var r = 0; r < events.Count; r++)
        {
            Assert.Equal(reference.OutputRow(r)[0], onerow.OutputRow(r)[0], 1e-6f);
        }
    }

    [Fact]
    public void A_double_input_receives_each_feature_value_at_full_precision()
    {
        using var session = Open("sklearn-logreg-double");
        Assert.True(session.InputIsDouble);
        var featureEvent = ExportedModel.All.Single(m => m.Name == "sklearn-logreg-double").Events()[0];
        var first = session.Model.Manifest.Features[0];
        featureEvent.Features[first] = 17.000000000000004; // no float32 holds it
        Assert.Null(new FeatureValidator(session.Model.Manifest, NonFinitePolicy.Reject, rejectExtraFeatures: false).Fill(featureEvent, session, 3));
        Assert.Equal(17.000000000000004, session.InputRowDouble(3)[0]);
        Assert.Equal(featureEvent.Features[session.Model.Manifest.Features[^1]], session.InputRowDouble(3)[^1]);
        var misuse = Assert.Throws<InvalidOperationException>(() => session.InputRow(0).Length);
        Assert.Contains("has a float64 input", misuse.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ZipMap_probabilities_go_to_the_columns_of_the_class_names_in_the_order_registered()
    {
        var iris = ExportedModel.All.Single(m => m.Name == "sklearn-iris-zipmap");
        var result = ModelRegistration.Register(new ModelRegistrationRequest
        {
            OnnxPath = iris.OnnxPath,
            StoreRoot = _store,
            Name = "iris",
            FeaturesFrom = Path.Combine(TestPaths.RepositoryRoot, iris.FeaturesFrom),
            ClassNames = ["virginica", "setosa", "versicolor"],
        });
        Assert.Equal(["virginica", "setosa", "versicolor"], result.Manifest.ClassNames);
        Assert.Equal(OutputLayout.ZipMap, result.Signature.Layout);
        using var session = ModelSession.Create(new ModelStore(_store).Load("iris", "1"), Settings, NullLogger.Instance);
        var events = iris.Events();
        var validator = new FeatureValidator(session.Model.Manifest, NonFinitePolicy.Reject, rejectExtraFeatures: false);
        for (var r = 0; r < events.Count; r++)
        {
            events[r].ModelName = "iris";
            Assert.Null(validator.Fill(events[r], session, r));
        }

        session.Run(events.Count);
        for (var r = 0; r < events.Count; r++)
        {
            var row = session.OutputRow(r);
            var expected = iris.Probabilities[r];
            Assert.Equal(expected[2], row[0], 1e-6);
            Assert.Equal(expected[0], row[1], 1e-6);
            Assert.Equal(expected[1], row[2], 1e-6);
        }
    }

    [Fact]
    public void A_hand_written_manifest_that_does_not_describe_the_graph_is_refused_with_what_to_change()
    {
        var features = Enumerable.Range(0, 30).Select(i => "f" + i).ToArray();
        string Refusal(string example, ModelManifest manifest)
        {
            var bytes = File.ReadAllBytes(ExportedModel.All.Single(m => m.Name == example).OnnxPath);
            return Assert.Throws<InvalidDataException>(() => ModelSession.Create(new StoredModel(manifest, bytes, "", ""), Settings, NullLogger.Instance)).Message;
        }

        // What the team wrote by hand for skl2onnx's default export: the ZipMap's keys are not in the graph.
        Assert.Equal(
            "zip 1: output 'output_probability' is a ZipMap (sequence of map(int64, float)): model.json must list its keys as class_names, one per output column (output_width 2); register the model with streammon models add.",
            Refusal("sklearn-logreg-zipmap", new ModelManifest { Name = "zip", Version = "1", Features = features, InputName = "float_input", OutputName = "output_probability", OutputWidth = 2 }));
        Assert.Equal(
            "lr 1: output 'probabilities' is float [N,2] but model.json says output_width 1.",
            Refusal("sklearn-logreg", new ModelManifest { Name = "lr", Version = "1", Features = features, InputName = "float_input", OutputName = "probabilities" }));
        Assert.Equal(
            "lr 1: input 'float_input' is float [N,30] but model.json lists 3 features.",
            Refusal("sklearn-logreg", new ModelManifest { Name = "lr", Version = "1", Features = ["a", "b", "c"], InputName = "float_input", OutputName = "probabilities", OutputWidth = 2 }));
        Assert.Equal(
            "lr 1: the model has no input 'features'; its inputs: float_input float [N,30].",
            Refusal("sklearn-logreg", new ModelManifest { Name = "lr", Version = "1", Features = features }));
        Assert.Equal(
            "iris 1: a binary model reads one column (P(1)) or two ([P(0), P(1)]), but the output has 3; register it as multiclass.",
            Refusal("torch-iris-logits", new ModelManifest { Name = "iris", Version = "1", Features = ["a", "b", "c", "d"], OutputName = "logits", OutputWidth = 3 }));
    }

    [Theory]
    [InlineData("torch-mlp")]
    [InlineData("sklearn-logreg-double")]
    [InlineData("torch-diabetes-1d")]
    public void The_io_binding_path_gives_exactly_the_outputs_of_a_plain_run_on_freshly_allocated_tensors(string name)
    {
        // The scorer's path: pre-allocated pinned buffers bound once (OrtIoBinding, here on the CPU provider). The
        // reference: InferenceSession.Run with new input and output tensors per call, same graph options and threads.
        using var session = Open(name);
        var validator = new FeatureValidator(session.Model.Manifest, NonFinitePolicy.Reject, rejectExtraFeatures: false);
        var events = ExportedModel.All.Single(m => m.Name == name).Events();
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, IntraOpNumThreads = Settings.IntraOpThreads, InterOpNumThreads = Settings.InterOpThreads };
        using var plain = new InferenceSession(session.Model.OnnxBytes, options);
        foreach (var rows in new[] { 1, 5, 20 })
        {
            for (var r = 0; r < rows; r++)
            {
                Assert.Null(validator.Fill(events[(r * 3) % events.Count], session, r));
            }

            long[] shape = [rows, session.InputWidth];
            using var input = session.InputIsDouble
                ? OrtValue.CreateTensorValueFromMemory(Enumerable.Range(0, rows).SelectMany(r => session.InputRowDouble(r).ToArray()).ToArray(), shape)
                : OrtValue.CreateTensorValueFromMemory(Enumerable.Range(0, rows).SelectMany(r => session.InputRow(r).ToArray()).ToArray(), shape);
            session.Run(rows);
            using var runOptions = new RunOptions();
            using var results = plain.Run(runOptions, [session.Signature.InputName], [input], [session.Signature.OutputName]);
            var output = results[0];
            var expected = output.GetTensorTypeAndShape().ElementDataType == TensorElementType.Double
                ? output.GetTensorDataAsSpan<double>().ToArray().Select(v => (float)v).ToArray()
                : output.GetTensorDataAsSpan<float>().ToArray();
            var actual = Enumerable.Range(0, rows).SelectMany(r => session.OutputRow(r).ToArray()).ToArray();
            Assert.Equal(expected, actual);
        }
    }

    public void Dispose() => Directory.Delete(_store, recursive: true);

    /// <summary>Registers an example in-process (as `models add` does with its arguments) and opens it as the scorer does.</summary>
    private ModelSession Open(string name)
    {
        var model = ExportedModel.All.Single(m => m.Name == name);
        var args = model.AddArgs.ToList();
        string? After(string option) => args.IndexOf(option) is var i and >= 0 ? args[i + 1] : null;
        ModelRegistration.Register(new ModelRegistrationRequest
        {
            OnnxPath = model.OnnxPath,
            StoreRoot = _store,
            Name = name,
            FeaturesFrom = Path.Combine(TestPaths.RepositoryRoot, model.FeaturesFrom),
            Kind = After("--kind") == "regression" ? OutputKind.REGRESSION : null,
            Logits = args.Contains("--logits"),
            ClassNames = After("--classes")?.Split(','),
        });
        return ModelSession.Create(new ModelStore(_store).Load(name, "1"), Settings, NullLogger.Instance);
    }
}
