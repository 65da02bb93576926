using System.Diagnostics;
using Microsoft.Extensions.Logging;
using StreamMonitor.Models;
using StreamMonitor.Models.Store;
using StreamMonitor.Models.Onnx;
using StreamMonitor.Models.Training;
using StreamMonitor.Streams.Drift;

namespace StreamMonitor.Demo;

/// <summary>
/// The demo's models and drift reference: a small MLP served from the start (version 1); version 2, the same network
/// widened with zero-weight hidden units (identical predictions, hundreds of times the multiply-adds: a model shipped
/// without its pruning step), hot-loaded for the latency regression; and version 3 (version 1 again) rolled in for the
/// drift phase. Keeping the predictions identical isolates the latency regression from quality. The drift reference profile comes from version 1's training split; the traffic uses its held-out
/// split. Every version appears in the live store by one atomic folder rename (what the scorer's watcher expects).
/// </summary>
public sealed class DemoModelSet
{
    private readonly ModelStore _live;
    private readonly ModelStore _staging;
    private readonly string _name;

    internal DemoModelSet(ModelStore live, ModelStore staging, string name, string heldOutCsv, string trainCsv, string profilePath)
    {
        _live = live;
        _staging = staging;
        _name = name;
        HeldOutCsv = heldOutCsv;
        TrainCsv = trainCsv;
        ProfilePath = profilePath;
    }

    /// <summary>The live model store the scorer watches.</summary>
    public string StoreRoot => _live.Root;

    /// <summary>Held-out rows of version 1 (the traffic's source).</summary>
    public string HeldOutCsv { get; }

    /// <summary>Training rows of version 1 (the drift reference's source).</summary>
    public string TrainCsv { get; }

    /// <summary>The drift reference profile (JSON) for the aggregator.</summary>
    public string ProfilePath { get; }

    /// <summary>Whether the heavy version has been published.</summary>
    public bool HeavyPublished { get; private set; }

    /// <summary>Publishes the heavy (widened) model as version 2; returns the version.</summary>
    public string PublishHeavy()
    {
        var heavy = _staging.Load(_name, "2");
        _live.Save(heavy.Manifest, heavy.OnnxBytes);
        HeavyPublished = true;
        return "2";
    }

    /// <summary>Publishes the light model again as version 3 (a rollback is a new version, so predictions say which ran).</summary>
    public string PublishRollback()
    {
        var light = _live.Load(_name, "1");
        _live.Save(light.Manifest with { Version = "3" }, light.OnnxBytes);
        return "3";
    }
}

/// <summary>Builds the <see cref="DemoModelSet"/> from the real data set.</summary>
public static class DemoModels
{
    /// <summary>Hidden layers of the served MLP (version 1).</summary>
    public static readonly int[] LightHidden = [32, 32];

    /// <summary>Trains version 1, derives the widened version 2, and writes the reference profile under the run folder.</summary>
    public static DemoModelSet Prepare(DemoOptions options, string workDirectory, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        var liveRoot = Path.Combine(workDirectory, "models");
        var stagingRoot = Path.Combine(workDirectory, "models-staging");
        var clock = Stopwatch.StartNew();
        var light = ModelBuilder.Build(new ModelBuildRequest
        {
            DataPath = Path.GetFullPath(options.DataSet),
            StoreRoot = liveRoot,
            Name = options.ModelName,
            Version = "1",
            Kind = "mlp",
            Overwrite = true,
            Settings = new TrainingSettings { Seed = options.Seed, Hidden = LightHidden },
        });
        logger.LogInformation("Built {Model} v1 (MLP {Hidden}): held-out accuracy {Accuracy:P1} in {Seconds:F1} s", options.ModelName, string.Join('x', LightHidden), light.Manifest.Training?.HeldOutAccuracy, clock.Elapsed.TotalSeconds);

        var heavyNetwork = Widen(light.Network, options.HeavyWidth);
        var heavyManifest = light.Manifest with
        {
            Version = "2",
            Training = light.Manifest.Training! with { Hidden = heavyNetwork.Layers.Take(heavyNetwork.Layers.Count - 1).Select(l => l.Outputs).ToArray() },
        };
        var onnx = heavyNetwork.ToOnnx(heavyManifest.InputName, heavyManifest.OutputName, 2, $"{options.ModelName} 2: version 1 widened to {options.HeavyWidth} hidden units with zero weights");
        onnx.Metadata["streammonitor.name"] = options.ModelName;
        onnx.Metadata["streammonitor.version"] = "2";
        new ModelStore(stagingRoot).Save(heavyManifest, OnnxProtoWriter.ToBytes(onnx), overwrite: true);
        logger.LogInformation("Prepared {Model} v2 ({Width}-wide hidden layers, same predictions) for the latency regression", options.ModelName, options.HeavyWidth);

        var trainCsv = Path.Combine(light.Directory, ModelBuilder.TrainCsvName);
        var heldOutCsv = Path.Combine(light.Directory, ModelBuilder.HeldOutCsvName);
        var profile = WithScoreReference(ProfileBuilder.FromCsv(trainCsv, options.ModelName, ["label"]), light.Manifest, light.Network, light.Train);
        var profilePath = Path.Combine(workDirectory, "profiles", options.ModelName + ".json");
        Directory.CreateDirectory(Path.GetDirectoryName(profilePath)!);
        File.WriteAllText(profilePath, profile.ToJson());
        return new DemoModelSet(new ModelStore(liveRoot), new ModelStore(stagingRoot), options.ModelName, heldOutCsv, trainCsv, profilePath);
    }

    /// <summary>
    /// Adds the score reference (<see cref="ReferenceProfile.Score"/>, named <see cref="ScoreFeature"/>) to a profile:
    /// the model's scores of the reference rows, read as the scorer reads them (<see cref="Models.Inference.OutputReader"/>),
    /// so the aggregator can compare each window's prediction scores with the training split's.
    /// </summary>
    public static ReferenceProfile WithScoreReference(ReferenceProfile profile, ModelManifest manifest, DenseNetwork network, Dataset reference)
    {
        ArgumentNullException.ThrowIfNull(profile);
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(reference);
        var input = reference.Rows.SelectMany(r => r.Select(v => (float)v)).ToArray();
        var output = network.Forward(input, reference.Count);
        var scores = new List<double>(reference.Count);
        for (var r = 0; r < reference.Count; r++)
        {
            var prediction = new Contracts.Prediction();
            Models.Inference.OutputReader.Apply(manifest, output.AsSpan(r * network.OutputWidth, network.OutputWidth), prediction);
            scores.Add(prediction.Score ?? double.NaN);
        }

        profile.Score = NumericProfile.Build(ScoreFeature, scores);
        profile.Seal();
        return profile;
    }

    /// <summary>Feature name of the prediction score in drift results.</summary>
    public const string ScoreFeature = "prediction_score";

    /// <summary>
    /// The same function with every hidden layer <paramref name="width"/> units wide: the trained weights fill the
    /// top-left block, the added units have zero weights and bias (ReLU(0) = 0), and the next layer ignores them.
    /// </summary>
    public static DenseNetwork Widen(DenseNetwork network, int width)
    {
        ArgumentNullException.ThrowIfNull(network);
        var layers = new List<DenseLayer>(network.Layers.Count);
        var inputs = network.InputWidth;
        for (var i = 0; i < network.Layers.Count; i++)
        {
            var source = network.Layers[i];
            var last = i == network.Layers.Count - 1;
            var outputs = last ? source.Outputs : Math.Max(width, source.Outputs);
            var layer = new DenseLayer(inputs, outputs, source.Activation);
            for (var k = 0; k < source.Inputs; k++)
            {
                Array.Copy(source.Weights, k * source.Outputs, layer.Weights, k * outputs, source.Outputs);
            }

            Array.Copy(source.Bias, layer.Bias, source.Outputs);
            layers.Add(layer);
            inputs = outputs;
        }

        return new DenseNetwork(network.Mean, network.Std, layers);
    }
}
