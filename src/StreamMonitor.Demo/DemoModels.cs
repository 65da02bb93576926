using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using StreamMonitor.Analytics.Drift;
using StreamMonitor.Models;
using StreamMonitor.Models.Inference;
using StreamMonitor.Models.Onnx;
using StreamMonitor.Models.Store;
using StreamMonitor.Models.Training;

namespace StreamMonitor.Demo;

/// <summary>
/// The demo's models and drift reference: a small MLP served from the start (version 1); version 2, the same function
/// widened with zero-weight hidden units and deepened with identity blocks (identical predictions, a batch-1 cost sized to
/// a multiple of the latency SLO threshold on this machine: a model shipped without its pruning step), hot-loaded for the
/// latency regression; and version 3 (version 1 again) rolled in for the
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

        clock.Restart();
        var heavy = PrepareHeavy(options, light.Manifest, light.Network, new ModelStore(stagingRoot), logger);
        logger.LogInformation("Prepared {Model} v2 for the latency regression: {Blocks} identity blocks {Width} wide, batch-1 inference {CostMs:F1} ms (target {TargetMs:F1} ms), sized in {Seconds:F1} s",
            options.ModelName, heavy.Blocks, HeavyWidth, heavy.BatchOneCost.TotalMilliseconds, heavy.Target.TotalMilliseconds, clock.Elapsed.TotalSeconds);

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
    /// the model's scores of the reference rows, read as the scorer reads them (<see cref="ReferenceScorer.ReadScores"/>),
    /// so the aggregator can compare each window's prediction scores with the training split's.
    /// </summary>
    public static ReferenceProfile WithScoreReference(ReferenceProfile profile, ModelManifest manifest, DenseNetwork network, Dataset reference)
    {
        ArgumentNullException.ThrowIfNull(profile);
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(reference);
        var input = reference.Rows.SelectMany(r => r.Select(v => (float)v)).ToArray();
        var scores = new List<double>(reference.Count);
        ReferenceScorer.ReadScores(manifest, network.Forward(input, reference.Count), reference.Count, scores);

        profile.Score = NumericProfile.Build(ScoreFeature, scores);
        profile.Seal();
        return profile;
    }

    /// <summary>Hidden width of the heavy version (its identity blocks are square at this width: 4 MiB of weights).</summary>
    public const int HeavyWidth = 1024;

    /// <summary>Blocks of the probe model whose cost is extrapolated.</summary>
    private const int ProbeBlocks = 16;

    /// <summary>Most identity blocks the heavy version gets, however fast the machine.</summary>
    private const int MaxBlocks = 4096;

    /// <summary>How the heavy version came out: its identity blocks, its measured batch-1 inference time and the target.</summary>
    public sealed record HeavyVersion(int Blocks, TimeSpan BatchOneCost, TimeSpan Target);

    /// <summary>
    /// Saves version 2 to <paramref name="staging"/>: version 1 widened to <see cref="HeavyWidth"/> and deepened with
    /// identity blocks until one row takes <see cref="DemoOptions.HeavyCostFactor"/> times the latency SLO threshold
    /// on this machine's CPU, at the scorer's thread count. Every heavy prediction then spends at least that long in
    /// inference (a batch never runs faster than one row), so the regression misses the threshold on a fast machine
    /// as on a slow one; a fixed size did not (on a quiet machine a fixed widening gave p95 9.5 ms against 10 ms).
    /// The cost is measured on a probe of <see cref="ProbeBlocks"/> blocks and extrapolated linearly, then re-measured.
    /// </summary>
    public static HeavyVersion PrepareHeavy(DemoOptions options, ModelManifest light, DenseNetwork network, ModelStore staging, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(light);
        ArgumentNullException.ThrowIfNull(staging);
        var target = TimeSpan.FromMicroseconds(options.HeavyCostFactor * DemoSettings.LatencySloThresholdUs);
        var widened = Widen(network, HeavyWidth);
        var probe = BatchOneCost(SaveHeavy(options.ModelName, light, widened, ProbeBlocks, staging), logger);
        var blocks = (int)Math.Clamp(Math.Ceiling(ProbeBlocks * target / probe), 1, MaxBlocks);
        var cost = BatchOneCost(SaveHeavy(options.ModelName, light, widened, blocks, staging), logger);
        return new HeavyVersion(blocks, cost, target);
    }

    private static StoredModel SaveHeavy(string name, ModelManifest light, DenseNetwork widened, int blocks, ModelStore staging)
    {
        var manifest = light with
        {
            Version = "2",
            Training = light.Training! with { Hidden = Enumerable.Repeat(HeavyWidth, blocks + 2).ToArray() },
        };
        var onnx = widened.ToOnnx(manifest.InputName, manifest.OutputName, 2,
            $"{name} 2: version 1 widened to {HeavyWidth} hidden units with zero weights and deepened by {blocks} identity blocks");
        AddIdentityBlocks(onnx, "h0", HeavyWidth, blocks);
        onnx.Metadata["streammonitor.name"] = name;
        onnx.Metadata["streammonitor.version"] = "2";
        staging.Save(manifest, OnnxProtoWriter.ToBytes(onnx), overwrite: true);
        return staging.Load(name, "2");
    }

    /// <summary>
    /// Inserts <paramref name="blocks"/> MatMul + Relu blocks after the activation <paramref name="hidden"/>, all over one
    /// shared identity initializer (so the weights take 4 MiB however deep). The input is a ReLU output, so every block
    /// returns it exactly (adding zeros is exact in float): the predictions stay version 1's.
    /// </summary>
    public static void AddIdentityBlocks(OnnxModel model, string hidden, int width, int blocks)
    {
        ArgumentNullException.ThrowIfNull(model);
        var producer = model.Nodes.FindIndex(n => n.Outputs.Contains(hidden));
        if (producer < 0)
        {
            throw new ArgumentException($"No node produces {hidden}.", nameof(hidden));
        }

        var identity = new float[width * width];
        for (var i = 0; i < width; i++)
        {
            identity[(i * width) + i] = 1;
        }

        model.Initializers.Add(new OnnxInitializer("identity_block", [width, width], identity));
        var inserted = new List<OnnxNode>(2 * blocks);
        var current = hidden;
        for (var b = 0; b < blocks; b++)
        {
            var id = b.ToString(CultureInfo.InvariantCulture);
            inserted.Add(new OnnxNode("MatMul", [current, "identity_block"], [$"block_mm{id}"], $"block_matmul{id}"));
            inserted.Add(new OnnxNode("Relu", [$"block_mm{id}"], [$"block_h{id}"], $"block_act{id}"));
            current = $"block_h{id}";
        }

        for (var i = producer + 1; i < model.Nodes.Count; i++)
        {
            var node = model.Nodes[i];
            model.Nodes[i] = node with { Inputs = node.Inputs.Select(input => input == hidden ? current : input).ToArray() };
        }

        model.Nodes.InsertRange(producer + 1, inserted);
    }

    /// <summary>Fastest of several batch-1 runs (the least load-dependent estimate) at the demo scorer's thread count.</summary>
    private static TimeSpan BatchOneCost(StoredModel model, ILogger logger)
    {
        using var session = ModelSession.Create(model, new SessionSettings { MaxBatchRows = 1, Provider = ExecutionProviderChoice.Cpu, IntraOpThreads = DemoSettings.ScorerIntraOpThreads }, logger);
        session.WarmUp();
        var fastest = TimeSpan.MaxValue;
        for (var run = 0; run < 7; run++)
        {
            var start = Stopwatch.GetTimestamp();
            session.Run(1);
            var elapsed = Stopwatch.GetElapsedTime(start);
            fastest = elapsed < fastest ? elapsed : fastest;
        }

        return fastest;
    }

    /// <summary>Feature name of the prediction score in drift results.</summary>
    public const string ScoreFeature = ReferenceScorer.ScoreFeature;

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
