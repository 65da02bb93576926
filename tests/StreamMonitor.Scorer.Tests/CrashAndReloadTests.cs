using System.Globalization;
using StreamMonitor.Contracts;
using StreamMonitor.Kafka;
using StreamMonitor.Models.Store;
using StreamMonitor.Testing;
using Xunit.Abstractions;

namespace StreamMonitor.Scorer.Tests;

/// <summary>At-least-once under kill -9, and hot reload under load, with the scorer as its own process.</summary>
public sealed class CrashAndReloadTests(EmbeddedKafkaFixture cluster, ITestOutputHelper output) : IClassFixture<EmbeddedKafkaFixture>, IDisposable
{
    private readonly string _store = Directory.CreateTempSubdirectory("streammon-scorer-").FullName;

    [Fact]
    public async Task After_kill_9_and_a_restart_every_event_has_a_prediction()
    {
        var model = ScorerHarness.BuildModel(_store, "cancer", "1");
        var options = cluster.CreateOptions();
        const int events = 3000;
        var scorer = StartScorer(options, "crash");
        await using var _ = scorer;
        await scorer.WaitForLineAsync("Assigned partitions", TimeSpan.FromSeconds(60));

        using var producer = ScorerHarness.Producer(options);
        var load = Task.Run(async () =>
        {
            for (var i = 0; i < events; i++)
            {
                ScorerHarness.Produce(producer, options, ScorerHarness.Event(model, i));
                if (i % 50 == 49)
                {
                    await Task.Delay(25); // ~2000 events/s: the kill lands mid-stream
                }
            }

            producer.Flush(TimeSpan.FromSeconds(30));
        });

        // Kill once a good share of the stream has been scored, while events keep arriving.
        var seen = ScorerHarness.Read<Prediction>(options, options.Topics.Predictions, r => r.Count >= events / 3, TimeSpan.FromSeconds(60));
        scorer.Kill();
        output.WriteLine($"killed after {seen.Count} predictions");
        await load;
        var restarted = scorer.Restart();
        await using var __ = restarted;

        var ids = new HashSet<string>(StringComparer.Ordinal);
        var counted = 0;
        var predictions = ScorerHarness.Read<Prediction>(options, options.Topics.Predictions, r =>
        {
            for (; counted < r.Count; counted++)
            {
                ids.Add(r[counted].Value.EventId);
            }

            return ids.Count >= events;
        }, TimeSpan.FromSeconds(90));
        await restarted.StopAsync(TimeSpan.FromSeconds(20));

        var missing = Enumerable.Range(0, events).Select(i => "e-" + i.ToString("D6", CultureInfo.InvariantCulture)).Where(id => !ids.Contains(id)).ToList();
        output.WriteLine($"{predictions.Count} predictions for {ids.Count} event ids ({predictions.Count - ids.Count} duplicates after the crash); missing {missing.Count}");
        Assert.Empty(missing);
        Assert.All(predictions, p => Assert.Equal(PredictionStatus.OK, p.Value.Status));
        // Duplicates carry the same event id and, scored by the same version, the same score.
        Assert.All(predictions.GroupBy(p => p.Value.EventId), g => Assert.Single(g.Select(p => p.Value.Score).Distinct()));
    }

    [Fact]
    public async Task A_new_version_under_load_loses_no_event_and_switches_at_one_point_per_partition()
    {
        var model = ScorerHarness.BuildModel(_store, "cancer", "1");
        var options = cluster.CreateOptions();
        const int events = 3000;
        var scorer = StartScorer(options, "reload");
        await using var _ = scorer;
        await scorer.WaitForLineAsync("Assigned partitions", TimeSpan.FromSeconds(60));

        using var producer = ScorerHarness.Producer(options);
        var published = new TaskCompletionSource();
        var load = Task.Run(async () =>
        {
            for (var i = 0; i < events; i++)
            {
                ScorerHarness.Produce(producer, options, ScorerHarness.Event(model, i));
                if (i == events / 3)
                {
                    published.SetResult();
                }

                if (i % 50 == 49)
                {
                    await Task.Delay(25);
                }
            }

            producer.Flush(TimeSpan.FromSeconds(30));
        });

        await published.Task;
        var v2 = ScorerHarness.BuildModel(_store, "cancer", "2", seed: 7); // a different model: a different hash
        await load;
        var predictions = ScorerHarness.Read<Prediction>(options, options.Topics.Predictions, r => r.Count >= events, TimeSpan.FromSeconds(90));
        await scorer.StopAsync(TimeSpan.FromSeconds(20));

        Assert.Equal(events, predictions.Select(p => p.Value.EventId).Distinct().Count());
        Assert.All(predictions, p => Assert.Equal(PredictionStatus.OK, p.Value.Status));
        var hashes = new Dictionary<string, string> { ["1"] = model.Manifest.OnnxSha256, ["2"] = v2.Manifest.OnnxSha256 };
        Assert.All(predictions, p => Assert.Equal(hashes[p.Value.ModelVersion], p.Value.ModelHash));
        Assert.Contains(predictions, p => p.Value.ModelVersion == "2");
        Assert.Contains(scorer.Lines, l => l.Contains("swapped from version 1 to 2", StringComparison.Ordinal));

        // Events and predictions are keyed by event id with one partitioner and equal partition counts, so a
        // prediction's partition is its event's. Within a partition, event order is produce order (the id).
        foreach (var partition in predictions.GroupBy(p => p.Partition))
        {
            var versions = partition.OrderBy(p => p.Value.EventId, StringComparer.Ordinal).Select(p => p.Value.ModelVersion).ToList();
            var switches = versions.Zip(versions.Skip(1)).Count(pair => pair.First != pair.Second);
            output.WriteLine($"partition {partition.Key}: {versions.Count(v => v == "1")} x v1 then {versions.Count(v => v == "2")} x v2");
            Assert.True(switches <= 1, $"partition {partition.Key} switched versions {switches} times");
            Assert.True(versions[0] == "1" || switches == 0, "the old version cannot follow the new one");
        }
    }

    public void Dispose() => Directory.Delete(_store, recursive: true);

    private ServiceProcess StartScorer(KafkaOptions options, string instance) => ScorerHarness.StartScorerProcess(options, _store, TestOutput.Forward(output), new Dictionary<string, string?>
    {
        ["Scorer__InstanceId"] = instance,
        ["Scorer__ReloadPoll"] = "100ms",
    });
}
