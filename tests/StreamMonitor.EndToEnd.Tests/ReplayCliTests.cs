using System.Globalization;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using SkiaSharp;
using StreamMonitor.Contracts;
using StreamMonitor.Influx;
using StreamMonitor.Kafka;
using StreamMonitor.Replay;
using StreamMonitor.Reports;
using StreamMonitor.Testing;

namespace StreamMonitor.EndToEnd.Tests;

/// <summary>
/// The `streammon replay` and `streammon report postmortem` verbs run as processes of the built CLI against the shared
/// demo run: the replay fills its suffixed topics and its own InfluxDB database, and the report renders the replayed
/// range. The what-if replay re-scores the range with the demo's heavy model version.
/// </summary>
[Collection(DemoRunCollection.Name)]
public sealed class ReplayCliTests(DemoRunFixture demo)
{
    private static readonly TimeSpan CliTimeout = TimeSpan.FromMinutes(6);

    [Fact]
    public async Task Replay_verb_fills_the_suffixed_topics_and_database_and_report_verb_renders_the_range()
    {
        const string suffix = ".replay-cli";
        const string database = "streammon_replay_cli";
        var (from, to) = Range();
        var work = Path.Combine(demo.Stack.WorkDirectory, "replay-cli");
        var (code, lines) = await RunCliAsync(
            [
                "replay", "--from", Iso(from), "--to", to.ToString(CultureInfo.InvariantCulture), "--suffix", suffix, "--influx-db", database,
                "--bootstrap-servers", demo.Stack.Kafka.BootstrapServers, "--influx-url", demo.Stack.Influx.Url,
                "--settings", SettingsFile, "--slack", "10m", "--work-dir", work,
            ]);
        var output = string.Join('\n', lines);
        Assert.True(code == 0, $"replay exited {code}:\n{output}");

        // Progress and summary output: the copy task and every stage, then the per-topic table and the final line.
        var target = ReplayRunner.ReplayKafka(demo.Stack.Kafka, suffix);
        foreach (var expected in new[] { "copy range", "running the aggregator", "running the alerter", "Replay done in", target.Topics.Features })
        {
            Assert.True(output.Contains(expected, StringComparison.Ordinal), $"'{expected}' is not in the replay's output:\n{output}");
        }

        // Every feature event of the demo was copied into the suffixed features topic.
        Assert.Equal(demo.Result.Totals.Features, Records(target, target.Topics.Features));
        var replay = ReadResults(target);
        Assert.NotEmpty(replay.Latency);
        Assert.NotEmpty(replay.Drift);
        Assert.NotEmpty(replay.Quality);
        Assert.NotEmpty(replay.SloHistory);

        // The separate database holds the projection of exactly those window results.
        Assert.Equal(replay.Latency.Count, await CountPointsAsync(database, "latency_window", "count"));
        Assert.Equal(replay.Drift.Count, await CountPointsAsync(database, "drift_window", "count"));
        Assert.Equal(replay.Quality.Count, await CountPointsAsync(database, "quality_window", "predictions"));

        var report = Path.Combine(work, "report");
        var phases = demo.Result.Phases;
        string[] reportArgs =
        [
            "report", "postmortem", "--from", from.ToString(CultureInfo.InvariantCulture), "--to", Iso(to), "--suffix", suffix,
            "--bootstrap-servers", demo.Stack.Kafka.BootstrapServers, "--out", report, "--title", "Replay CLI postmortem",
            .. phases.SelectMany(p => new[] { "--phase", $"{p.Name}={Iso(p.StartMs)}..{Iso(p.EndMs)}" }),
        ];
        (code, lines) = await RunCliAsync(reportArgs);
        Assert.True(code == 0, $"report exited {code}:\n{string.Join('\n', lines)}");
        var markdown = await File.ReadAllTextAsync(Path.Combine(report, "report.md"));
        Assert.StartsWith("# Replay CLI postmortem", markdown, StringComparison.Ordinal);
        foreach (var png in new[] { "latency.png", "burn-rates.png", "drift.png", "quality.png" })
        {
            Assert.Contains($"]({png})", markdown, StringComparison.Ordinal);
            using var bitmap = SKBitmap.Decode(Path.Combine(report, png));
            Assert.True(bitmap is { Width: > 0, Height: > 0 }, $"{png} does not decode as an image");
        }

        // Per phase, the numbers the report prints are the ones in the replayed result topics.
        var latencySize = replay.Latency.Values.Max(w => w.WindowSizeMs);
        var qualitySize = replay.Quality.Values.Max(w => w.WindowSizeMs);
        foreach (var phase in phases)
        {
            var section = Section(markdown, $"## {phase.Name} (");
            foreach (var version in replay.Latency.Values.Where(w => w.WindowSizeMs == latencySize && phase.ContainsWindow(w.WindowStartMs)).GroupBy(w => (w.ModelName, w.ModelVersion)))
            {
                var count = version.Sum(w => w.Count);
                var errors = version.Sum(w => w.ErrorCount);
                Assert.Contains($"| {version.Key.ModelName} | {version.Key.ModelVersion} | {count} | {errors} |", section, StringComparison.Ordinal);
            }

            foreach (var version in replay.Quality.Values.Where(w => w.WindowSizeMs == qualitySize && phase.ContainsWindow(w.WindowStartMs)).GroupBy(w => (w.ModelName, w.ModelVersion)))
            {
                var predictions = version.Sum(w => w.Predictions);
                var labeled = version.Sum(w => w.Labeled);
                Assert.Contains($"| {version.Key.ModelName} | {version.Key.ModelVersion} | {predictions} | {labeled} |", section, StringComparison.Ordinal);
            }
        }

        foreach (var incident in replay.Incidents().Where(i => i.FiredAtMs < to))
        {
            Assert.Contains($"| {incident.Fired.Name} | {incident.Fired.Kind} | {incident.Fired.Severity} | {SummaryMarkdown.Time(incident.FiredAtMs)} |", markdown, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task What_if_replay_rescores_the_range_with_the_heavy_version_into_the_replay_namespace()
    {
        const string suffix = ".replay-whatif";
        const string heavy = "2";
        var (from, to) = Range();
        var (code, lines) = await RunCliAsync(
            [
                "replay", "--from", from.ToString(CultureInfo.InvariantCulture), "--to", to.ToString(CultureInfo.InvariantCulture), "--suffix", suffix,
                "--influx-db", "streammon_replay_whatif", "--bootstrap-servers", demo.Stack.Kafka.BootstrapServers, "--influx-url", demo.Stack.Influx.Url,
                "--settings", SettingsFile, "--slack", "10m", "--work-dir", Path.Combine(demo.Stack.WorkDirectory, "replay-whatif"),
                "--rescore-model-version", heavy, "--model", demo.Options.ModelName, "--model-store", Path.Combine(demo.Stack.WorkDirectory, "models"),
            ]);
        Assert.True(code == 0, $"replay exited {code}:\n{string.Join('\n', lines)}");

        // Every replayed prediction comes from the what-if version; the live run served versions 1, 2 and 3.
        var target = ReplayRunner.ReplayKafka(demo.Stack.Kafka, suffix);
        var predictions = ReadPredictions(target);
        Assert.Equal(demo.Result.Totals.Features, predictions.Count);
        Assert.All(predictions, p => Assert.Equal(heavy, p.ModelVersion));

        var live = ReadResults(demo.Stack.Kafka);
        var whatIf = ReadResults(target);
        Assert.Equal([heavy], whatIf.Latency.Values.Select(w => w.ModelVersion).Distinct());
        Assert.Contains(live.Latency.Values, w => w.ModelVersion != heavy);

        // Same events, other model: the inference stage of every window is the heavy model's, slower than the light
        // version 1 served live (hundreds of times its multiply-adds).
        var size = whatIf.Latency.Values.Max(w => w.WindowSizeMs);
        var liveWindows = live.Latency.Values.Where(w => w.WindowSizeMs == size).GroupBy(w => w.WindowStartMs).ToDictionary(g => g.Key, g => (Count: g.Sum(w => w.Count), Late: g.Sum(w => w.LateCount), Errors: g.Sum(w => w.ErrorCount)));
        var whatIfWindows = whatIf.Latency.Values.Where(w => w.WindowSizeMs == size).ToDictionary(w => w.WindowStartMs, w => (Count: w.Count, Late: w.LateCount, Errors: w.ErrorCount));
        var differing = liveWindows.Keys.Union(whatIfWindows.Keys).Order()
            .Where(k => liveWindows.GetValueOrDefault(k).Count != whatIfWindows.GetValueOrDefault(k).Count)
            .Select(k => $"{SummaryMarkdown.Time(k)}: live {liveWindows.GetValueOrDefault(k)}, what-if {whatIfWindows.GetValueOrDefault(k)}").ToList();
        Assert.True(differing.Count == 0, $"window counts differ ({size} ms windows):\n{string.Join('\n', differing)}");
        var lightInference = Inference(live.Latency.Values.Where(w => w.WindowSizeMs == size && w.ModelVersion == "1"));
        var heavyInference = Inference(whatIf.Latency.Values.Where(w => w.WindowSizeMs == size));
        Assert.True(heavyInference > lightInference, $"what-if inference mean {heavyInference:F0} us is not above the live light model's {lightInference:F0} us");
    }

    private string SettingsFile => Path.Combine(demo.Stack.WorkDirectory, "service-settings.json");

    /// <summary>The demo's event-time range with the margin late labels need.</summary>
    private (long From, long To) Range() => (demo.Result.Plan.StartEventTimeMs - 600_000, demo.Result.Plan.EndEventTimeMs + 600_000);

    private static string Iso(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms).ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);

    private static double Inference(IEnumerable<LatencyWindowResult> windows)
    {
        var stages = windows.SelectMany(w => w.Stages).Where(s => s.Stage == "inference" && s.Count > 0).ToList();
        Assert.NotEmpty(stages);
        return stages.Sum(s => s.MeanUs * s.Count) / stages.Sum(s => s.Count);
    }

    private static string Section(string markdown, string heading)
    {
        var start = markdown.IndexOf(heading, StringComparison.Ordinal);
        Assert.True(start >= 0, $"no section '{heading}' in the report");
        var end = markdown.IndexOf("\n## ", start + heading.Length, StringComparison.Ordinal);
        return end < 0 ? markdown[start..] : markdown[start..end];
    }

    private async Task<(int Code, IReadOnlyList<string> Lines)> RunCliAsync(string[] args)
    {
        var env = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["Influx__Database"] = demo.Stack.Influx.Database,
            ["DOTNET_gcServer"] = "0",
        };
        foreach (var (key, value) in demo.Stack.Kafka.Client)
        {
            env["Kafka__Client__" + key] = value;
        }

        await using var cli = ServiceProcess.Start(new ServiceProcessOptions(StreammonCli.DllPath)
        {
            Arguments = args,
            Environment = env,
            WorkingDirectory = demo.Stack.WorkDirectory,
        });
        var code = await cli.WaitForExitAsync(CliTimeout);
        return (code, cli.Lines);
    }

    private ResultLog ReadResults(KafkaOptions kafka)
    {
        using var reader = new ResultTopicReader(kafka, demo.Loggers.CreateLogger("replay-cli-test"));
        reader.CatchUp(TimeSpan.FromMinutes(1), CancellationToken.None);
        return reader.Log;
    }

    private static long Records(KafkaOptions kafka, string topic)
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(KafkaClientConfig.Consumer(kafka, "replay-cli-test", "replay-cli-test")).Build();
        return Enumerable.Range(0, kafka.Topics.InputPartitions)
            .Select(p => consumer.QueryWatermarkOffsets(new TopicPartition(topic, p), TimeSpan.FromSeconds(10)))
            .Sum(w => w.High.Value - w.Low.Value);
    }

    private static List<Prediction> ReadPredictions(KafkaOptions kafka)
    {
        var codec = new EventCodec();
        using var consumer = new ConsumerBuilder<byte[], byte[]>(KafkaClientConfig.Consumer(kafka, "replay-cli-test-" + Guid.NewGuid().ToString("N"), "replay-cli-test")).Build();
        var result = new List<Prediction>();
        for (var p = 0; p < kafka.Topics.InputPartitions; p++)
        {
            var partition = new TopicPartition(kafka.Topics.Predictions, p);
            var high = consumer.QueryWatermarkOffsets(partition, TimeSpan.FromSeconds(10)).High.Value;
            consumer.Assign(new TopicPartitionOffset(partition, Offset.Beginning));
            var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(1);
            var next = 0L;
            while (next < high && DateTime.UtcNow < deadline)
            {
                if (consumer.Consume(TimeSpan.FromSeconds(1)) is { Message: not null } record)
                {
                    next = record.Offset.Value + 1;
                    result.Add(codec.Deserialize<Prediction>(record.Message.Value));
                }
            }

            Assert.True(next >= high, $"{partition} read to {next} of {high}");
        }

        consumer.Close();
        return result;
    }

    private async Task<long> CountPointsAsync(string database, string measurement, string field)
    {
        using var influx = new InfluxQueryClient(new InfluxOptions { Url = demo.Stack.Influx.Url, Database = database });
        var series = await influx.QueryAsync($"SELECT count(\"{field}\") FROM \"{measurement}\"");
        return series.SelectMany(s => s.Rows).Sum(r => Convert.ToInt64(r[1], CultureInfo.InvariantCulture));
    }
}
