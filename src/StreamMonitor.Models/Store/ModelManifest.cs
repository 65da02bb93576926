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

    /// <summary>
    /// Per-feature training mean, in <see cref="Features"/> order (used by the ImputeMean policy); empty when unknown
    /// (a model registered without data), in which case only the Reject policy can serve it.
    /// </summary>
    public IReadOnlyList<double> FeatureMeans { get; init; } = [];

    /// <summary>Name of the [N, features] float or double input tensor.</summary>
    public string InputName { get; init; } = "features";

    /// <summary>Name of the output the scores are read from (a tensor, or a ZipMap sequence of maps).</summary>
    public string OutputName { get; init; } = "probability";

    /// <summary>Values per row of the output: 1 for a binary probability or regression, 2 for [P(0), P(1)], K for K classes.</summary>
    public int OutputWidth { get; init; } = 1;

    /// <summary>
    /// Whether the output holds logits: the scorer applies a sigmoid (width 1) or a softmax over the row (width 2 and
    /// more) before reading probabilities.
    /// </summary>
    public bool Logits { get; init; }

    /// <summary>
    /// Class names in output column order (for a binary model with one output column: [negative, positive]); empty
    /// when not given. For a ZipMap output they are the map's keys, and they decide which key goes to which column.
    /// </summary>
    public IReadOnlyList<string> ClassNames { get; init; } = [];

    /// <summary>The exporter's label output beside the scores (int64 or string), which the scorer does not run; null when none.</summary>
    public string? LabelOutputName { get; init; }

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
