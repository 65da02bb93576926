using System.Globalization;
using StreamMonitor.Contracts;
using StreamMonitor.Influx;
using StreamMonitor.Kafka;
using StreamMonitor.Streams;
using StreamMonitor.Testing;
using Xunit.Abstractions;

namespace StreamMonitor.Aggregator.Tests;

/// <summary>Shared cluster and influxd for the process-level tests.</summary>
public sealed class AggregatorProcessFixture : IAsyncLifetime
{
    public EmbeddedKafkaFixture Kafka { get; } = new();

    public InfluxFixture Influx { get; } = new();

    public async Task InitializeAsync()
    {
        await Kafka.InitializeAsync();
        await Influx.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        await Influx.DisposeAsync();
        await Kafka.DisposeAsync();
    }
}

/// <summary>The process-level test classes share one cluster and influxd and run one after another (2-core machines).</summary>
[CollectionDefinition(Name)]
public sealed class AggregatorProcessCollection : ICollectionFixture<AggregatorProcessFixture>
{
    public const string Name = "aggregator processes";
}

/// <summary>
/// The aggregator as a separate process against the embedded cluster and a real influxd: SIGKILL several times during
/// a run must end with exactly the results of an uninterrupted run, on the result topic and in InfluxDB; two instances
/// in one group must produce the same results as one.
/// </summary>
[Collection(AggregatorProcessCollection.Name)]
public sealed class AggregatorProcessTests(AggregatorProcessFixture fixture, ITestOutputHelper output)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(300);
    private static readonly string[] Measurements = ["latency_window", "latency_stage", "latency_sli"];

    private readonly List<Prediction> _input = PredictionGenerator.Generate(60_000, seed: 42, stepMs: 5);

    [Fact]
    public Task Killing_the_process_repeatedly_gives_exactly_the_result_topic_of_an_uninterrupted_run() =>
        CrashScenarioAsync(compareInflux: false);

    [Fact]
    public Task Killing_the_process_repeatedly_gives_exactly_the_InfluxDB_projection_of_an_uninterrupted_run() =>
        CrashScenarioAsync(compareInflux: true);

    private async Task CrashScenarioAsync(bool compareInflux)
    {
        var (cleanOptions, cleanInflux) = await PrepareAsync();
        await using var clean = Start(cleanOptions, cleanInflux, "clean");
        var cleanResults = await WaitForCompleteResultsAsync(cleanOptions, clean);
        if (!compareInflux)
        {
            await clean.StopAsync(TimeSpan.FromSeconds(20));
        }

        var (crashOptions, crashInflux) = await PrepareAsync();
        var crashing = Start(crashOptions, crashInflux, "crash");
        (crashing, var resumedFromCheckpoint) = await AggregatorProcess.KillRepeatedlyAsync(crashing, "resuming at offset", kills: 3, new Random(7), 300, 1_500, output.WriteLine);
        var crashResults = await WaitForCompleteResultsAsync(crashOptions, crashing);
        Assert.True(resumedFromCheckpoint > 0, "the kills came before any checkpoint: the test proved nothing");
        AssertSameResults(cleanResults, crashResults);
        if (compareInflux)
        {
            // The uninterrupted run keeps running until here: its projection trails its topic, and a stopped
            // projector would leave its database without the last re-emitted results.
            await AssertSameInfluxAsync(cleanInflux, crashInflux);
            await clean.StopAsync(TimeSpan.FromSeconds(20));
        }

        await crashing.StopAsync(TimeSpan.FromSeconds(20));
        await crashing.DisposeAsync();
    }

    [Fact]
    public async Task Two_instances_in_one_group_split_the_work_and_produce_the_results_of_one()
    {
        var (oneOptions, oneInflux) = await PrepareAsync();
        var one = Start(oneOptions, oneInflux, "one");
        var oneResults = await WaitForCompleteResultsAsync(oneOptions, one);
        await one.StopAsync(TimeSpan.FromSeconds(20));
        await one.DisposeAsync();

        var (twoOptions, twoInflux) = await PrepareAsync();
        await using var first = Start(twoOptions, twoInflux, "two-a");
        await using var second = Start(twoOptions, twoInflux, "two-b");
        var twoResults = await WaitForCompleteResultsAsync(twoOptions, first);
        AssertSameResults(oneResults, twoResults);
        Assert.Contains(first.Lines, l => l.Contains("Assigned", StringComparison.Ordinal));
        Assert.Contains(second.Lines, l => l.Contains("Assigned", StringComparison.Ordinal));
    }

    private async Task<(KafkaOptions Kafka, InfluxOptions Influx)> PrepareAsync()
    {
        var options = fixture.Kafka.CreateOptions();
        var influx = await fixture.Influx.CreateDatabaseAsync("agg");
        using var producer = fixture.Kafka.CreateProducer(options);
        var codec = fixture.Kafka.Codec;
        PredictionGenerator.Produce(producer, codec, options.Topics, _input);

        // One sentinel per partition, far in the future, closes every real window on every partition.
        PredictionGenerator.ProduceSentinels(producer, codec, options.Topics, _input.Max(p => p.EventTimeMs) + 600_000);

        producer.Flush(TimeSpan.FromSeconds(30));
        return (options, influx);
    }

    private ServiceProcess Start(KafkaOptions kafka, InfluxOptions influx, string name) =>
        AggregatorProcess.Start(kafka, influx, checkpointEveryRecords: 3000, TestOutput.Forward(output, name));

    /// <summary>Expected count per window key, from the input alone.</summary>
    private Dictionary<string, long> ExpectedCounts()
    {
        var expected = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var spec in new[] { WindowSpec.Tumbling(TimeSpan.FromSeconds(10)), WindowSpec.Tumbling(TimeSpan.FromMinutes(1)) })
        {
            foreach (var group in _input.GroupBy(p => new WindowKey(WindowKind.Latency, p.ModelName, p.ModelVersion, spec.LastWindowStart(p.EventTimeMs), spec.SizeMs).ToString()))
            {
                expected[group.Key] = group.LongCount();
            }
        }

        return expected;
    }

    private async Task<Dictionary<string, byte[]>> WaitForCompleteResultsAsync(KafkaOptions options, ServiceProcess process)
    {
        var expected = ExpectedCounts();
        var results = await AggregatorProcess.WaitForResultsAsync(fixture.Kafka, options.Topics.LatencyResults, process, Deadline,
            latest => expected.All(e => latest.TryGetValue(e.Key, out var value) && fixture.Kafka.Codec.Deserialize<LatencyWindowResult>(value) is { Partitions: 4 } r && r.Count == e.Value),
            latest => $"results incomplete: {expected.Count(e => latest.ContainsKey(e.Key))}/{expected.Count} windows present");
        return results.Where(l => expected.ContainsKey(l.Key)).ToDictionary(l => l.Key, l => l.Value, StringComparer.Ordinal);
    }

    private static void AssertSameResults(Dictionary<string, byte[]> expected, Dictionary<string, byte[]> actual)
    {
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        foreach (var (key, value) in expected)
        {
            Assert.True(value.AsSpan().SequenceEqual(actual[key]), $"result {key} differs");
        }
    }

    private static async Task<List<string>> RowsAsync(InfluxOptions options, string measurement)
    {
        using var client = InfluxFixture.CreateQueryClient(options);
        var series = await client.QueryAsync($"SELECT * FROM {measurement} WHERE model = 'fraud' GROUP BY *");
        return series.SelectMany(s => s.Rows.Select(r =>
                string.Join(",", s.Tags.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => $"{t.Key}={t.Value}")) + "|" +
                string.Join(",", r.Select(v => Convert.ToString(v, CultureInfo.InvariantCulture)))))
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    private async Task AssertSameInfluxAsync(InfluxOptions expected, InfluxOptions actual)
    {
        var windows = ExpectedCounts().Count;
        var deadline = DateTime.UtcNow + Deadline;
        while (DateTime.UtcNow < deadline)
        {
            // The projection trails the topic: wait until both databases hold every window and agree, then compare all.
            // A result's points can span two writer batches: wait until every measurement agrees.
            var agree = true;
            foreach (var measurement in Measurements)
            {
                var a = await RowsAsync(expected, measurement);
                var b = await RowsAsync(actual, measurement);
                agree &= a.Count >= windows && a.SequenceEqual(b);
            }

            if (agree)
            {
                break;
            }

            await Task.Delay(500);
        }

        foreach (var measurement in Measurements)
        {
            var a = await RowsAsync(expected, measurement);
            var b = await RowsAsync(actual, measurement);
            Assert.True(a.Count >= windows, $"{measurement}: {a.Count} rows for {windows} windows");
            Assert.Equal(a, b);
        }
    }
}
