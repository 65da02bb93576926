using System.Globalization;
using System.Net;
using System.Text;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.Validation;
using StreamMonitor.Kafka;
using StreamMonitor.Models;
using StreamMonitor.Models.Store;
using StreamMonitor.Stack;
using StreamMonitor.Testing;
using Xunit.Abstractions;

namespace StreamMonitor.Scorer.Tests;

/// <summary>
/// A model that fails to load never blocks the others (issue #11): an export the scorer cannot feed (a 4-D image
/// input) next to a good model, with the scorer as its own process. The good model is scored, /readyz is 200 and
/// names the failure, /metrics and the log report it, its events get ERROR predictions and one MODEL_UNAVAILABLE
/// dead letter each, and dropping a fixed export into its folder makes it serve. (A torch export without a dynamic
/// batch axis is no longer such a model: it is served in chunks of its fixed batch, see BringYourOwnModelTests.)
/// </summary>
public sealed class ModelLoadFailureTests(EmbeddedKafkaFixture cluster, ITestOutputHelper output) : IClassFixture<EmbeddedKafkaFixture>, IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly string _store = Directory.CreateTempSubdirectory("streammon-scorer-").FullName;

    /// <summary>The committed torch exports (tests/models/fixed-batch/make_models.py made them).</summary>
    private static byte[] TorchExport(string name) => File.ReadAllBytes(Path.Combine(TestPaths.RepositoryRoot, "tests", "models", "fixed-batch", name));

    /// <summary>Graphs the scorer cannot serve (examples/models/make_models.py made them).</summary>
    private static byte[] Unservable(string name) => File.ReadAllBytes(Path.Combine(TestPaths.RepositoryRoot, "examples", "models", "unsupported", name + ".onnx"));

    [Fact]
    public async Task A_model_the_scorer_cannot_feed_is_reported_and_the_other_model_serves_until_a_fixed_export_is_dropped_in()
    {
        var good = ScorerHarness.BuildModel(_store, "cancer", "1");
        var torch = SaveModel(good, Unservable("image-input"), inputName: "pixels");
        var options = cluster.CreateOptions();
        var port = LocalPorts.Free();
        var scorer = StartScorer(options, port, "cancer", "torch");
        await using var _ = scorer;
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}") };
        await scorer.WaitForHttpOkAsync(new Uri(http.BaseAddress, "/readyz"), Timeout);

        var readiness = await http.GetStringAsync(new Uri("/readyz", UriKind.Relative));
        output.WriteLine(readiness);
        Assert.StartsWith("ready\n", readiness, StringComparison.Ordinal);
        Assert.Contains("model cancer: serving version 1\n", readiness, StringComparison.Ordinal);
        Assert.Matches(@"model torch: unavailable: version 1 failed to load: InvalidDataException: torch 1: input 'pixels' is float \[N,1,4,4\]; the scorer feeds a 2-D \[batch, features\] tensor: export the model with a 2-D input", readiness);
        var metrics = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Contains("streammon_scorer_model_load_failures_total{model=\"torch\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("streammon_scorer_model_available{model=\"torch\"} 0", metrics, StringComparison.Ordinal);
        Assert.Contains("streammon_scorer_model_available{model=\"cancer\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains(scorer.Lines, l => l.Contains("Model torch version 1 could not be loaded (InvalidDataException", StringComparison.Ordinal));

        using (var producer = ScorerHarness.Producer(options))
        {
            for (var i = 0; i < 5; i++)
            {
                ScorerHarness.Produce(producer, options, ScorerHarness.Event(good, i));
                ScorerHarness.Produce(producer, options, TorchEvent(good, i));
            }

            producer.Flush(TimeSpan.FromSeconds(10));
        }

        var predictions = ScorerHarness.Read<Prediction>(options, options.Topics.Predictions, r => r.Count >= 10, Timeout);
        Assert.Equal(10, predictions.Count);
        Assert.All(predictions.Where(p => p.Value.ModelName == "cancer"), p => Assert.Equal(PredictionStatus.OK, p.Value.Status));
        var unavailable = predictions.Where(p => p.Value.EventId.StartsWith("torch-", StringComparison.Ordinal)).Select(p => p.Value).ToList();
        Assert.Equal(5, unavailable.Count);
        var downstream = new RecordPolicy(ScorerHarness.Codec);
        Assert.All(unavailable, p =>
        {
            Assert.Equal(PredictionStatus.ERROR, p.Status);
            Assert.Equal(("torch", "1"), (p.ModelName, p.ModelVersion)); // counted in the torch model's error rate
            Assert.StartsWith(ReasonCodes.ModelUnavailable + ": Model torch has no version in service: version 1 failed to load", p.ErrorReason, StringComparison.Ordinal);
            Assert.True(downstream.Predictions(ScorerHarness.Codec.Serialize(p), p.Timing.BrokerTimeMs).IsValid);
        });
        var letters = ScorerHarness.Read<DeadLetter>(options, options.Topics.DeadLetter, r => r.Count >= 5, Timeout, settle: TimeSpan.FromSeconds(1));
        Assert.Equal(5, letters.Count);
        Assert.All(letters, l => Assert.Equal(ReasonCodes.ModelUnavailable, l.Value.ReasonCode));
        Assert.Equal(unavailable.Select(p => p.EventId).Order(), letters.Select(l => Encoding.UTF8.GetString(l.Value.Key!)).Order());

        // The user re-exports with a dynamic batch axis and replaces the version folder: the watcher sees the
        // folder change, loads it, and the model serves without a restart.
        var fixedModel = new ModelStore(_store).Save(torch with { InputName = "features" }, TorchExport("dynamic-batch.onnx"), overwrite: true);
        var fixedHash = ModelStore.Sha256Hex(File.ReadAllBytes(Path.Combine(fixedModel, ModelStore.OnnxFileName)));
        readiness = (await ScorerHarness.WaitForReadinessAsync(http, Timeout, "model torch: serving version 1\n")).Body;
        Assert.Contains("model cancer: serving version 1\n", readiness, StringComparison.Ordinal);
        Assert.DoesNotContain("failed", readiness, StringComparison.Ordinal);
        Assert.Contains("streammon_scorer_model_available{model=\"torch\"} 1", await http.GetStringAsync(new Uri("/metrics", UriKind.Relative)), StringComparison.Ordinal);

        using (var producer = ScorerHarness.Producer(options))
        {
            for (var i = 5; i < 8; i++)
            {
                ScorerHarness.Produce(producer, options, TorchEvent(good, i));
            }

            producer.Flush(TimeSpan.FromSeconds(10));
        }

        predictions = ScorerHarness.Read<Prediction>(options, options.Topics.Predictions, r => r.Count >= 13, Timeout);
        var scored = predictions.Where(p => p.Value.EventId is "torch-5" or "torch-6" or "torch-7").Select(p => p.Value).ToList();
        Assert.Equal(3, scored.Count);
        Assert.All(scored, p =>
        {
            Assert.Equal(PredictionStatus.OK, p.Status);
            Assert.Equal(fixedHash, p.ModelHash);
            Assert.InRange(p.Score!.Value, 0, 1);
        });

        // A restart serves both at once, refuses nothing again (the refused records were committed with their dead
        // letters) and scores new events of both models.
        Assert.Equal(0, await scorer.StopAsync(TimeSpan.FromSeconds(20)));
        var restarted = scorer.Restart();
        await using var __ = restarted;
        await restarted.WaitForHttpOkAsync(new Uri(http.BaseAddress, "/readyz"), Timeout);
        readiness = await http.GetStringAsync(new Uri("/readyz", UriKind.Relative));
        Assert.Equal("ready\nmodel cancer: serving version 1\nmodel torch: serving version 1\n", readiness);
        using (var producer = ScorerHarness.Producer(options))
        {
            ScorerHarness.Produce(producer, options, ScorerHarness.Event(good, 9));
            ScorerHarness.Produce(producer, options, TorchEvent(good, 9));
            producer.Flush(TimeSpan.FromSeconds(10));
        }

        predictions = ScorerHarness.Read<Prediction>(options, options.Topics.Predictions, r => r.Count >= 15, Timeout, settle: TimeSpan.FromSeconds(2));
        await restarted.StopAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(15, predictions.Count);
        Assert.All(predictions.Where(p => p.Value.EventId is "e-000009" or "torch-9"), p => Assert.Equal(PredictionStatus.OK, p.Value.Status));
        Assert.Equal(5, ScorerHarness.Read<DeadLetter>(options, options.Topics.DeadLetter, r => r.Count >= 5, Timeout, settle: TimeSpan.FromSeconds(1)).Count);
    }

    [Fact]
    public async Task With_no_model_that_loads_the_scorer_is_not_ready_and_says_why_until_a_fixed_export_is_dropped_in()
    {
        var reference = ScorerHarness.BuildModel(_store, "reference", "1"); // only for the feature names and means
        var torch = SaveModel(reference, Unservable("image-input"), inputName: "pixels");
        SaveModel(reference, Unservable("runtime-error"), "onerow", "float_input"); // passes the shape checks, fails in ONNX Runtime at warm-up
        var options = cluster.CreateOptions();
        var port = LocalPorts.Free();
        var scorer = StartScorer(options, port, "torch", "onerow");
        await using var _ = scorer;
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}") };

        var (status, body) = await ScorerHarness.WaitForReadinessAsync(http, Timeout, "model onerow: unavailable");
        output.WriteLine(body);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.StartsWith("not ready: no served model has a version that loads\n", body, StringComparison.Ordinal);
        Assert.Matches("model torch: unavailable: version 1 failed to load: .*2-D", body);
        Assert.Matches(@"model onerow: unavailable: version 1 failed to load: OnnxRuntimeException: .*Non-zero status code returned while running Reshape node", body);
        Assert.Equal("ok\n", (await ScorerHarness.GetAsync(http, "/healthz")).Body); // alive, only not ready
        var metrics = (await ScorerHarness.GetAsync(http, "/metrics")).Body;
        Assert.Contains("streammon_scorer_model_load_failures_total{model=\"onerow\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains(scorer.Lines, l => l.Contains("Model onerow version 1 could not be loaded (OnnxRuntimeException", StringComparison.Ordinal));

        new ModelStore(_store).Save(torch with { InputName = "features" }, TorchExport("dynamic-batch.onnx"), overwrite: true);
        await scorer.WaitForHttpOkAsync(new Uri(http.BaseAddress, "/readyz"), Timeout);
        body = (await ScorerHarness.GetAsync(http, "/readyz")).Body;
        Assert.StartsWith("ready\nmodel torch: serving version 1\nmodel onerow: unavailable: version 1 failed to load: OnnxRuntimeException", body, StringComparison.Ordinal);
        using (var producer = ScorerHarness.Producer(options))
        {
            ScorerHarness.Produce(producer, options, TorchEvent(reference, 1));
            producer.Flush(TimeSpan.FromSeconds(10));
        }

        var prediction = Assert.Single(ScorerHarness.Read<Prediction>(options, options.Topics.Predictions, r => r.Count >= 1, Timeout)).Value;
        await scorer.StopAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(PredictionStatus.OK, prediction.Status);
        Assert.Equal(("torch", "1"), (prediction.ModelName, prediction.ModelVersion));
    }

    public void Dispose() => Directory.Delete(_store, recursive: true);

    /// <summary>Stores an export as version 1 of <paramref name="name"/>, with the manifest of the C# model on the same data.</summary>
    private ModelManifest SaveModel(ModelBuildResult reference, byte[] export, string name = "torch", string inputName = "features")
    {
        var manifest = new ModelManifest { Name = name, Version = "1", Features = reference.Manifest.Features, FeatureMeans = reference.Manifest.FeatureMeans, InputName = inputName };
        new ModelStore(_store).Save(manifest, export);
        return manifest;
    }

    private static FeatureEvent TorchEvent(ModelBuildResult reference, int i)
    {
        var featureEvent = ScorerHarness.Event(reference, i, modelName: "torch");
        featureEvent.EventId = "torch-" + i.ToString(CultureInfo.InvariantCulture);
        return featureEvent;
    }

    private ServiceProcess StartScorer(KafkaOptions options, int port, params string[] models)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Scorer__ReloadPoll"] = "100ms",
            ["Urls"] = $"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}",
        };
        for (var i = 0; i < models.Length; i++)
        {
            settings[$"Scorer__Models__{i.ToString(CultureInfo.InvariantCulture)}"] = models[i];
        }

        return ScorerHarness.StartScorerProcess(options, _store, TestOutput.Forward(output), settings);
    }
}
