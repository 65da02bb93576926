using Microsoft.Extensions.Logging;
using StreamMonitor.Contracts;
using StreamMonitor.Demo;
using StreamMonitor.Reports;
using StreamMonitor.Replay;

namespace StreamMonitor.EndToEnd.Tests;

[Collection(DemoRunCollection.Name)]
public sealed class ReplayTests(DemoRunFixture demo)
{
    private static readonly SemaphoreSlim Once = new(1, 1);
    private static (ResultLog Live, ReplayOutcome Replay)? _result;

    [Fact]
    public async Task Replaying_the_demo_range_copies_the_range_and_reproduces_the_live_latency_results_exactly()
    {
        var (live, outcome) = await ReplayOnceAsync();
        var copied = outcome.Copies.Where(c => c.TargetTopic.StartsWith(demo.Stack.Kafka.Topics.Features, StringComparison.Ordinal)).Sum(c => c.Copied);
        Assert.Equal(demo.Result.Totals.Features, copied);
        Assert.All(outcome.Copies, c => Assert.Equal(LocateMethod.BinarySearch, c.Method));
        Assert.NotEmpty(live.Latency);
        AssertSame(live.Latency, outcome.Results.Latency, new EventCodec());
    }

    [Fact]
    public async Task Replaying_the_demo_range_reproduces_the_live_drift_results_exactly()
    {
        var (live, outcome) = await ReplayOnceAsync();
        Assert.NotEmpty(live.Drift);
        AssertSame(live.Drift, outcome.Results.Drift, new EventCodec());
    }

    [Fact]
    public async Task Replaying_the_demo_range_reproduces_the_live_alerts()
    {
        var (live, outcome) = await ReplayOnceAsync();
        static string Incident(AlertIncident i) => $"{i.Fired.Name}|{i.Fired.Kind}|{i.Fired.Severity}|{i.FiredAtMs}|{i.ResolvedAtMs}";
        Assert.NotEmpty(live.Incidents());
        var expected = live.Incidents().Select(Incident).ToList();
        var actual = outcome.Results.Incidents().Select(Incident).ToList();
        Assert.True(expected.SequenceEqual(actual), $"live: {string.Join("; ", expected)}\nreplay: {string.Join("; ", actual)}\nlate results (the alerter's log): {LateResults()}");
    }

    /// <summary>What the live and replay alerters logged about results that arrived after their tick.</summary>
    private string LateResults()
    {
        var lines = Directory.EnumerateFiles(demo.Stack.WorkDirectory, "alerter*.log", SearchOption.AllDirectories)
            .SelectMany(f => File.ReadLines(f).Where(l => l.Contains("Late result", StringComparison.Ordinal)).Select(l => Path.GetRelativePath(demo.Stack.WorkDirectory, f) + ": " + l));
        return string.Join("\n", lines.Take(20)) is { Length: > 0 } text ? text : "none";
    }

    private async Task<(ResultLog Live, ReplayOutcome Replay)> ReplayOnceAsync()
    {
        await Once.WaitAsync();
        try
        {
            _result ??= await ReplayAsync();
            return _result.Value;
        }
        finally
        {
            Once.Release();
        }
    }

    private async Task<(ResultLog Live, ReplayOutcome Replay)> ReplayAsync()
    {
        var plan = demo.Result.Plan;
        var ns = new ReplayNamespace(".replay-e2e", "streammon_replay_e2e");
        ns.Validate(demo.Stack.Influx.Database);
        demo.Stack.CreateTopics(ReplayRunner.ReplayKafka(demo.Stack.Kafka, ns.Suffix).Topics);
        var logger = demo.Loggers.CreateLogger("replay-test");
        var models = System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, Dictionary<string, string>>>(
            await File.ReadAllTextAsync(Path.Combine(demo.Stack.WorkDirectory, "service-settings.json")))!;
        var settings = models.ToDictionary(kv => kv.Key, kv => (IReadOnlyDictionary<string, string>)kv.Value, StringComparer.Ordinal);
        var runner = new ReplayRunner(demo.Stack.Kafka, demo.Stack.Influx.Url, logger);
        var request = new ReplayRequest(plan.StartEventTimeMs - 600_000, plan.EndEventTimeMs + 600_000, ns, TimeSpan.FromMinutes(10), settings, Path.Combine(demo.Stack.WorkDirectory, "replay"), TimeSpan.FromDays(7));
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(6));
        var outcome = await runner.RunAsync(request, null, null, null, timeout.Token);

        // The live namespace, read again now that it has settled.
        using var live = new ResultTopicReader(demo.Stack.Kafka, logger);
        live.CatchUp(TimeSpan.FromMinutes(2), timeout.Token);
        return (live.Log, outcome);
    }

    private static void AssertSame<T>(Dictionary<WindowKey, T> live, Dictionary<WindowKey, T> replay, EventCodec codec)
        where T : class
    {
        Assert.Equal(live.Keys.Select(k => k.ToString()).Order(StringComparer.Ordinal), replay.Keys.Select(k => k.ToString()).Order(StringComparer.Ordinal));
        foreach (var (key, value) in live)
        {
            Assert.True(codec.Serialize(value).AsSpan().SequenceEqual(codec.Serialize(replay[key])), $"{key} differs between live and replay");
        }
    }
}
