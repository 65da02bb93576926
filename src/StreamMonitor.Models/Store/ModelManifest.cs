using System.Text.Json;
using System.Text.Json.Serialization;
using StreamMonitor.Contracts;

namespace StreamMonitor.Models.Store;

/// <summary>
/// model.json: everything a scorer needs to feed a model.onnx and read its answer, plus how it was trained.
/// Feature names are in input-tensor column order: feature i of an event goes to column i.
/// </summary>
public sealed record ModelManifest
{
    /// <summary>Model name (the folder under the store root and FeatureEvent.model_name).</summary>
    public required string Name { get; init; }

    /// <summary>Version (the folder under the model's folder); numeric versions sort numerically.</summary>
    public required string Version { get; init; }

    /// <summary>Ordered feature names: the columns of the input tensor.</summary>
    public required IReadOnlyList<string> Features { get; init; }

    /// <summary>Per-feature training mean, in <see cref="Features"/> order (used by the Impute policy).</summary>
    public required IReadOnlyList<double> FeatureMeans { get; init; }

    /// <summary>Name of the [N, features] float input tensor.</summary>
    public string InputName { get; init; } = "features";

    /// <summary>Name of the output tensor.</summary>
    public string OutputName { get; init; } = "probability";

    /// <summary>Width of the output tensor: 1 for binary probability or regression, K for K classes.</summary>
    public int OutputWidth { get; init; } = 1;

    /// <summary>What the output means.</summary>
    [JsonConverter(typeof(JsonStringEnumConverter<OutputKind>))]
    public OutputKind OutputKind { get; init; } = OutputKind.BINARY_PROBABILITY;

    /// <summary>Binary models: probability at or above which the predicted class is 1.</summary>
    public double DecisionThreshold { get; init; } = 0.5;

    /// <summary>SHA-256 (hex) of model.onnx when it was written; the scorer recomputes it from the bytes it loads.</summary>
    public string OnnxSha256 { get; init; } = "";

    /// <summary>How the model was trained.</summary>
    public TrainingInfo? Training { get; init; }

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>Serialises to JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>Parses model.json.</summary>
    public static ModelManifest FromJson(string json) =>
        JsonSerializer.Deserialize<ModelManifest>(json, JsonOptions) ?? throw new InvalidDataException("model.json is null.");
}

/// <summary>Training metadata recorded in model.json.</summary>
public sealed record TrainingInfo
{
    /// <summary>lr or mlp.</summary>
    public required string Kind { get; init; }

    /// <summary>Hidden layer widths (empty for logistic regression).</summary>
    public IReadOnlyList<int> Hidden { get; init; } = [];

    /// <summary>Epochs of Adam.</summary>
    public int Epochs { get; init; }

    /// <summary>Mini-batch size.</summary>
    public int BatchSize { get; init; }

    /// <summary>Adam step size.</summary>
    public double LearningRate { get; init; }

    /// <summary>L2 penalty.</summary>
    public double L2 { get; init; }

    /// <summary>Seed of split, initialisation and shuffling.</summary>
    public int Seed { get; init; }

    /// <summary>Share of rows held out (stratified).</summary>
    public double HeldOutFraction { get; init; }

    /// <summary>Data file name.</summary>
    public string DataFile { get; init; } = "";

    /// <summary>SHA-256 of the data file.</summary>
    public string DataSha256 { get; init; } = "";

    /// <summary>Training rows.</summary>
    public int TrainRows { get; init; }

    /// <summary>Held-out rows.</summary>
    public int HeldOutRows { get; init; }

    /// <summary>Accuracy on the training rows.</summary>
    public double TrainAccuracy { get; init; }

    /// <summary>Accuracy on the held-out rows at <see cref="ModelManifest.DecisionThreshold"/>.</summary>
    public double HeldOutAccuracy { get; init; }

    /// <summary>Training split file (feature columns then label), the reference profile for drift.</summary>
    public string TrainCsv { get; init; } = "";

    /// <summary>Held-out split file, used as demo traffic.</summary>
    public string HeldOutCsv { get; init; } = "";
}
