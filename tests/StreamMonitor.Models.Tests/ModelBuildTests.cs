using StreamMonitor.Models;
using StreamMonitor.Models.Inference;
using StreamMonitor.Models.Store;
using StreamMonitor.Models.Training;
using StreamMonitor.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace StreamMonitor.Models.Tests;

/// <summary>ONNX export: ONNX Runtime on the written file gives the trained network's outputs, and the models are good.</summary>
public sealed class ModelBuildTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _store = Directory.CreateTempSubdirectory("streammon-models-").FullName;

    public static string DataPath => TestPaths.DataFile("breast_cancer_wisconsin.csv");

    [Theory]
    [InlineData("lr", "", 0.9)]
    [InlineData("mlp", "32,16", 0.9)]
    public void Onnx_runtime_output_equals_the_csharp_forward_pass_on_every_held_out_row(string kind, string hidden, double minAccuracy)
    {
        var result = ModelBuilder.Build(new ModelBuildRequest
        {
            DataPath = DataPath,
            StoreRoot = _store,
            Name = "cancer-" + kind,
            Kind = kind,
            Settings = new TrainingSettings { Hidden = ParseHidden(hidden), Epochs = kind == "lr" ? 150 : 60 },
        });
        var accuracy = result.Manifest.Training!.HeldOutAccuracy;
        output.WriteLine($"{kind} {hidden}: held-out accuracy {accuracy:F4} on {result.HeldOut.Count} rows, train {result.Manifest.Training.TrainAccuracy:F4}");
        Assert.True(accuracy > minAccuracy, $"held-out accuracy {accuracy} <= {minAccuracy}");
        Assert.Equal(113, result.HeldOut.Count); // round(212 x 0.2) + round(357 x 0.2)
        Assert.Equal(456, result.Train.Count);

        var stored = new ModelStore(_store).Load("cancer-" + kind, "1");
        Assert.Equal(ModelStore.Sha256Hex(File.ReadAllBytes(Path.Combine(result.Directory, ModelStore.OnnxFileName))), stored.Sha256);
        Assert.Equal(stored.Sha256, stored.Manifest.OnnxSha256);

        var expected = result.Network.Forward(NetworkTrainer.ToFloatMatrix(result.HeldOut), result.HeldOut.Count);
        using var session = ModelSession.Create(stored, new SessionSettings { MaxBatchRows = 128, IntraOpThreads = 1 }, NullLogger.Instance);
        Assert.Equal("CPUExecutionProvider", session.ExecutionProvider);
        // Whole held-out set in one batch, then row by row (batch 1): the batch dimension is dynamic.
        for (var r = 0; r < result.HeldOut.Count; r++)
        {
            Fill(session.InputRow(r), result.HeldOut.Rows[r]);
        }

        session.Run(result.HeldOut.Count);
        var maxError = 0.0;
        for (var r = 0; r < result.HeldOut.Count; r++)
        {
            maxError = Math.Max(maxError, Math.Abs(session.OutputRow(r)[0] - expected[r]));
        }

        for (var r = 0; r < result.HeldOut.Count; r++)
        {
            Fill(session.InputRow(0), result.HeldOut.Rows[r]);
            session.Run(1);
            maxError = Math.Max(maxError, Math.Abs(session.OutputRow(0)[0] - expected[r]));
        }

        output.WriteLine($"max |onnx - csharp| = {maxError:E2}");
        Assert.True(maxError < 1e-5, $"max abs error {maxError}");
    }

    [Fact]
    public void Building_twice_with_the_same_seed_gives_the_same_weights_and_splits()
    {
        var a = Build("a", "mlp", [8], seed: 7);
        var b = Build("b", "mlp", [8], seed: 7);
        var c = Build("c", "mlp", [8], seed: 8);
        var store = new ModelStore(_store);
        // The ONNX doc string and metadata name the model, so compare the networks' parameters.
        Assert.Equal(a.Network.Layers[0].Weights, b.Network.Layers[0].Weights);
        Assert.NotEqual(a.Network.Layers[0].Weights, c.Network.Layers[0].Weights);
        Assert.Equal(File.ReadAllText(Path.Combine(a.Directory, ModelBuilder.TrainCsvName)), File.ReadAllText(Path.Combine(b.Directory, ModelBuilder.TrainCsvName)));
        Assert.Equal(["1"], store.Versions("a"));
    }

    [Fact]
    public void The_store_orders_versions_numerically_and_ignores_incomplete_folders()
    {
        Build("m", "lr", [], seed: 1, version: "2");
        Build("m", "lr", [], seed: 1, version: "10");
        Build("m", "lr", [], seed: 1, version: "9");
        Directory.CreateDirectory(Path.Combine(_store, "m", "11")); // no files: not a version
        Directory.CreateDirectory(Path.Combine(_store, "m", ".incoming-x"));
        var store = new ModelStore(_store);
        Assert.Equal(["2", "9", "10"], store.Versions("m"));
        Assert.Equal("10", store.LatestVersion("m"));
        Assert.Null(store.LatestVersion("absent"));
        Assert.Throws<IOException>(() => Build("m", "lr", [], seed: 1, version: "2"));
    }

    [Fact]
    public void The_held_out_and_training_splits_are_written_beside_the_model_and_partition_the_data()
    {
        var result = Build("s", "lr", [], seed: 3);
        var train = Dataset.LoadCsv(Path.Combine(result.Directory, ModelBuilder.TrainCsvName));
        var held = Dataset.LoadCsv(Path.Combine(result.Directory, ModelBuilder.HeldOutCsvName));
        var all = Dataset.LoadCsv(DataPath);
        Assert.Equal(all.Count, train.Count + held.Count);
        Assert.Equal(all.FeatureNames, train.FeatureNames);
        var key = (double[] row) => string.Join(',', row);
        Assert.Equal(all.Rows.Select(key).Order(), train.Rows.Concat(held.Rows).Select(key).Order());
        // Stratified: the class balance of the held-out split matches the data's within one row per class.
        var positiveShare = all.Labels.Average();
        Assert.InRange(held.Labels.Sum(), (positiveShare * held.Count) - 1, (positiveShare * held.Count) + 1);
    }

    public void Dispose() => Directory.Delete(_store, recursive: true);

    private ModelBuildResult Build(string name, string kind, int[] hidden, int seed, string version = "1") => ModelBuilder.Build(new ModelBuildRequest
    {
        DataPath = DataPath,
        StoreRoot = _store,
        Name = name,
        Version = version,
        Kind = kind,
        Settings = new TrainingSettings { Hidden = hidden, Epochs = 5, Seed = seed },
    });

    private static int[] ParseHidden(string hidden) => hidden.Length == 0 ? [] : hidden.Split(',').Select(int.Parse).ToArray();

    private static void Fill(Span<float> row, double[] values)
    {
        for (var j = 0; j < values.Length; j++)
        {
            row[j] = (float)values[j];
        }
    }
}
