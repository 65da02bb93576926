using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using StreamMonitor.Contracts;
using StreamMonitor.Kafka;
using StreamMonitor.Models.Inference;
using StreamMonitor.Models.Store;
using StreamMonitor.Stack;
using StreamMonitor.Testing;
using Xunit.Abstractions;

namespace StreamMonitor.Scorer.Tests;

/// <summary>
/// ExecutionProvider=auto|cpu|cuda on a machine without CUDA (issue #13), in whichever ONNX Runtime flavour this
/// project was built with: the CPU package (the default) or the GPU package (-p:OnnxRuntimeFlavor=Gpu, which test.sh
/// builds and runs these tests against). auto falls back to CPU with the reason logged and its predictions name the
/// CPU provider; cuda stops the scorer process at start-up with the reason. The reason differs by flavour, which is
/// what proves the probe creates the provider rather than trusting GetAvailableProviders().
/// </summary>
[Trait("Category", "ExecutionProvider")]
public sealed class ExecutionProviderTests(EmbeddedKafkaFixture cluster, ITestOutputHelper output) : IClassFixture<EmbeddedKafkaFixture>, IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

#if ONNXRUNTIME_GPU
    /// <summary>The GPU package lists CUDA but cannot load its provider library without CUDA 13 and cuDNN 9.</summary>
    private const string ExpectedReason = "the CUDA provider library could not be loaded (";
#else
    /// <summary>The CPU package has no CUDA entry point at all.</summary>
    private const string ExpectedReason = "this ONNX Runtime build has no CUDA execution provider";
#endif

    private readonly string _store = Directory.CreateTempSubdirectory("streammon-provider-").FullName;

    [Fact]
    public void Auto_resolves_to_cpu_with_the_reason_and_cuda_throws_the_reason_and_the_fix()
    {
        var auto = ExecutionProviders.Resolve(ExecutionProviderChoice.Auto, 0, NullLogger.Instance);
        Assert.Equal(ExecutionProviders.Cpu, auto.Provider);
        Assert.StartsWith(ExpectedReason, auto.FallbackReason, StringComparison.Ordinal);

        var cuda = Assert.Throws<ExecutionProviderUnavailableException>(() => ExecutionProviders.Resolve(ExecutionProviderChoice.Cuda, 0, NullLogger.Instance));
        Assert.StartsWith("ExecutionProvider=cuda, but the CUDA execution provider cannot run on device 0: " + ExpectedReason, cuda.Message, StringComparison.Ordinal);
        Assert.Contains("or set ExecutionProvider=auto (CPU when CUDA cannot run) or cpu.", cuda.Message, StringComparison.Ordinal);

        var model = ScorerHarness.BuildModel(_store, "cancer", "1");
        var stored = new ModelStore(_store).Load("cancer", model.Manifest.Version);
        using (var session = ModelSession.Create(stored, new SessionSettings { MaxBatchRows = 4, IntraOpThreads = 1 }, NullLogger.Instance))
        {
            Assert.Equal(ExecutionProviders.Cpu, session.ExecutionProvider);
        }

        Assert.Throws<ExecutionProviderUnavailableException>(() => ModelSession.Create(stored, new SessionSettings { MaxBatchRows = 4, Provider = ExecutionProviderChoice.Cuda }, NullLogger.Instance));
    }

    [Fact]
    public async Task Auto_falls_back_to_cpu_logs_why_once_and_every_prediction_names_the_cpu_provider()
    {
        var model = ScorerHarness.BuildModel(_store, "cancer", "1");
        var options = cluster.CreateOptions();
        var port = LocalPorts.Free();
        await using var scorer = StartScorer(options, port, "auto");
        await scorer.WaitForHttpOkAsync(new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/readyz"), Timeout);

        using (var producer = ScorerHarness.Producer(options))
        {
            for (var i = 0; i < 5; i++)
            {
                ScorerHarness.Produce(producer, options, ScorerHarness.Event(model, i));
            }

            producer.Flush(TimeSpan.FromSeconds(10));
        }

        var predictions = ScorerHarness.Read<Prediction>(options, options.Topics.Predictions, r => r.Count >= 5, Timeout);
        Assert.Equal(5, predictions.Count);
        Assert.All(predictions, p =>
        {
            Assert.Equal(PredictionStatus.OK, p.Value.Status);
            Assert.Equal("CPUExecutionProvider", p.Value.ExecutionProvider);
        });
        var fallback = Assert.Single(scorer.Lines, l => l.Contains("ExecutionProvider=auto: the CUDA execution provider cannot run on device 0", StringComparison.Ordinal));
        Assert.Contains($"({ExpectedReason}", fallback, StringComparison.Ordinal);
        Assert.EndsWith("running on CPUExecutionProvider", fallback, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cuda_that_cannot_run_stops_the_scorer_at_start_up_with_the_reason()
    {
        ScorerHarness.BuildModel(_store, "cancer", "1");
        var options = cluster.CreateOptions();
        var port = LocalPorts.Free();
        await using var scorer = StartScorer(options, port, "cuda");

        var exitCode = await scorer.WaitForExitAsync(Timeout);
        Assert.Equal(1, exitCode);
        var line = Assert.Single(scorer.Lines, l => l.Contains("The scorer cannot start: ", StringComparison.Ordinal));
        Assert.Contains("ExecutionProvider=cuda, but the CUDA execution provider cannot run on device 0: " + ExpectedReason, line, StringComparison.Ordinal);
        Assert.DoesNotContain(scorer.Lines, l => l.Contains("Loaded cancer", StringComparison.Ordinal));
    }

    public void Dispose() => Directory.Delete(_store, recursive: true);

    private ServiceProcess StartScorer(KafkaOptions options, int port, string provider) => ScorerHarness.StartScorerProcess(options, _store, TestOutput.Forward(output), new Dictionary<string, string?>
    {
        ["Scorer__ExecutionProvider"] = provider,
        ["Urls"] = $"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}",
    });
}
