using System.Globalization;
using StreamMonitor.Contracts;
using StreamMonitor.Models.Onnx;
using StreamMonitor.Models.Store;
using StreamMonitor.Models.Training;

namespace StreamMonitor.Models;

/// <summary>What to build: data, destination and hyper-parameters.</summary>
public sealed record ModelBuildRequest
{
    /// <summary>CSV with a header and a 0/1 label column.</summary>
    public required string DataPath { get; init; }

    /// <summary>Model store root.</summary>
    public required string StoreRoot { get; init; }

    /// <summary>Model name.</summary>
    public required string Name { get; init; }

    /// <summary>Version folder name.</summary>
    public string Version { get; init; } = "1";

    /// <summary>lr (logistic regression) or mlp.</summary>
    public string Kind { get; init; } = "lr";

    /// <summary>Label column.</summary>
    public string LabelColumn { get; init; } = "label";

    /// <summary>Share of rows held out, stratified by label.</summary>
    public double HeldOutFraction { get; init; } = 0.2;

    /// <summary>Training hyper-parameters (Hidden is ignored for lr).</summary>
    public TrainingSettings Settings { get; init; } = new();

    /// <summary>Replace an existing version.</summary>
    public bool Overwrite { get; init; }
}

/// <summary>The result of a build.</summary>
/// <param name="Manifest">What was written to model.json.</param>
/// <param name="Network">The trained network (its float32 forward pass is the reference for the ONNX file).</param>
/// <param name="Directory">Version folder.</param>
/// <param name="Train">Training split.</param>
/// <param name="HeldOut">Held-out split.</param>
public sealed record ModelBuildResult(ModelManifest Manifest, DenseNetwork Network, string Directory, Dataset Train, Dataset HeldOut);

/// <summary>
/// Trains a model on a CSV, exports it as ONNX and saves it in the store together with the training split
/// (train.csv, the drift reference) and the held-out split (heldout.csv, demo traffic).
/// </summary>
public static class ModelBuilder
{
    /// <summary>File name of the training split in the version folder.</summary>
    public const string TrainCsvName = "train.csv";

    /// <summary>File name of the held-out split in the version folder.</summary>
    public const string HeldOutCsvName = "heldout.csv";

    /// <summary>Builds, exports and saves a model.</summary>
    public static ModelBuildResult Build(ModelBuildRequest request, IProgress<(int Epoch, double Loss)>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        var kind = request.Kind.ToLowerInvariant();
        var settings = kind switch
        {
            "lr" => request.Settings with { Hidden = [] },
            "mlp" when request.Settings.Hidden.Count > 0 => request.Settings,
            "mlp" => throw new ArgumentException("An mlp needs at least one hidden layer (e.g. --hidden 64,32).", nameof(request)),
            _ => throw new ArgumentException($"Unknown model kind '{request.Kind}': use lr or mlp.", nameof(request)),
        };

        var data = Dataset.LoadCsv(request.DataPath, request.LabelColumn);
        var (train, heldOut) = data.Split(request.HeldOutFraction, settings.Seed);
        var network = NetworkTrainer.Train(train, settings, progress);
        const double threshold = 0.5;
        var manifest = new ModelManifest
        {
            Name = request.Name,
            Version = request.Version,
            Features = data.FeatureNames,
            FeatureMeans = network.Mean.Select(m => (double)m).ToArray(),
            OutputKind = OutputKind.BINARY_PROBABILITY,
            OutputWidth = 1,
            DecisionThreshold = threshold,
            Training = new TrainingInfo
            {
                Kind = kind,
                Hidden = settings.Hidden,
                Epochs = settings.Epochs,
                BatchSize = settings.BatchSize,
                LearningRate = settings.LearningRate,
                L2 = settings.L2,
                Seed = settings.Seed,
                HeldOutFraction = request.HeldOutFraction,
                DataFile = Path.GetFileName(request.DataPath),
                DataSha256 = ModelStore.Sha256Hex(File.ReadAllBytes(request.DataPath)),
                TrainRows = train.Count,
                HeldOutRows = heldOut.Count,
                TrainAccuracy = NetworkTrainer.Accuracy(network, train, threshold),
                HeldOutAccuracy = NetworkTrainer.Accuracy(network, heldOut, threshold),
                TrainCsv = TrainCsvName,
                HeldOutCsv = HeldOutCsvName,
            },
        };

        var onnxVersion = long.TryParse(request.Version, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : 1;
        var onnx = network.ToOnnx(manifest.InputName, manifest.OutputName, onnxVersion, $"{request.Name} {request.Version}: {kind} on {manifest.Training.DataFile}");
        onnx.Metadata["streammonitor.name"] = request.Name;
        onnx.Metadata["streammonitor.version"] = request.Version;
        var bytes = OnnxProtoWriter.ToBytes(onnx);

        var store = new ModelStore(request.StoreRoot);
        var splits = new Dictionary<string, string>
        {
            [TrainCsvName] = train.ToCsv(),
            [HeldOutCsvName] = heldOut.ToCsv(),
        };
        var directory = store.Save(manifest, bytes, splits, request.Overwrite);
        return new ModelBuildResult(store.Load(request.Name, request.Version).Manifest, network, directory, train, heldOut);
    }
}
