using System.Globalization;
using System.Text;
using Confluent.Kafka;
using StreamMonitor.Contracts;
using StreamMonitor.Influx;
using StreamMonitor.Kafka;
using StreamMonitor.Streams;
using StreamMonitor.Testing;
using Xunit.Abstractions;

namespace StreamMonitor.Aggregator.Tests;

/// <summary>
/// The quality topology in the aggregator process (group "{group}-quality", predictions and labels merged in event
/// time): generated predictions with delayed, out-of-order, duplicated, expired and unknown-id labels. The final
/// results on the topic must equal the exact metrics of the joined pairs, survive SIGKILLs byte-identically, reach
/// InfluxDB as quality_window points, and every label that did not join must be dead-lettered with its reason. The
/// killed run's labels are produced on other partitions than their predictions (as by a client whose partitioner is not
/// murmur2): the label repartition step and the join must still give the clean run's results byte for byte.
/// </summary>
public sealed class QualityProcessTests(AggregatorProcessFixture fixture, ITestOutputHelper output) : IClassFixture<AggregatorProcessFixture>
{
    private const long HorizonMs = LabelScenario.HorizonMs;
    private const long WindowMs = LabelScenario.WindowMs;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(240);

    private readonly LabelScenario _scenario = LabelScenario.Generate(6_000, seed: 17);

    [Fact]
    public async Task Final_quality_results_equal_the_exact_metrics_and_survive_repeated_kill_minus_9()
    {
        var (cleanOptions, cleanInflux) = await PrepareAsync();
        var clean = Start(cleanOptions, cleanInflux, "clean");
        var cleanResults = await WaitForFinalResultsAsync(cleanOptions, clean);
        _scenario.AssertExact(cleanResults.ToDictionary(r => r.Key, r => fixture.Kafka.Codec.Deserialize<QualityWindowResult>(r.Value), StringComparer.Ordinal));
        await AssertDeadLettersAsync(cleanOptions);
        await AssertInfluxAsync(cleanInflux, cleanResults);
        Assert.Contains(clean.Lines, l => l.Contains("of streammon.predictions", StringComparison.Ordinal) && l.Contains("-quality", StringComparison.Ordinal));
        await clean.StopAsync(TimeSpan.FromSeconds(20));
        await clean.DisposeAsync();

        // Every label one partition off murmur2's: none is where its prediction is.
        var (crashOptions, crashInflux) = await PrepareAsync(id => (Murmur2.Partition(Encoding.UTF8.GetBytes(id), cleanOptions.Topics.InputPartitions) + 1) % cleanOptions.Topics.InputPartitions);
        // The repartition step commits every 1000 labels only (its interval is out of reach): when it is caught up, the
        // labels after its last multiple of 1000 are produced but not committed.
        var crashing = Start(crashOptions, crashInflux, "crash", labelCommitInterval: "00:10:00");

        // First a kill right after the repartition step caught up: the next run produces those labels again and the
        // join must drop them.
        (crashing, var early) = await AggregatorProcess.KillRepeatedlyAsync(crashing, "Labels caught up", kills: 1, new Random(5), 0, 300, output.WriteLine);
        // Kill once every partition is assigned: each restore reads its changelog partition first, and a kill during
        // the assignment would never let a checkpoint be written.
        var last = string.Create(CultureInfo.InvariantCulture, $"Assigned partition {crashOptions.Topics.InputPartitions - 1} of");
        (crashing, var resumed) = await AggregatorProcess.KillRepeatedlyAsync(crashing, "-quality: resuming at offsets", kills: 3, new Random(3), 400, 1_500, output.WriteLine,
            ready: l => l.Contains(last, StringComparison.Ordinal) && l.Contains("-quality: resuming at offsets", StringComparison.Ordinal));
        var crashResults = await WaitForFinalResultsAsync(crashOptions, crashing);
        Assert.True(resumed + early > 0, "the kills came before any quality checkpoint: the test proved nothing");
        Assert.Equal(cleanResults.Keys.Order(StringComparer.Ordinal), crashResults.Keys.Order(StringComparer.Ordinal));
        foreach (var (key, value) in cleanResults)
        {
            Assert.True(value.AsSpan().SequenceEqual(crashResults[key]), $"result {key} differs after the kills");
        }

        await AssertDeadLettersAsync(crashOptions);
        var labels = await fixture.Kafka.ConsumeRawAllAsync(crashOptions.Topics.Labels, TimeSpan.FromSeconds(30));
        var byId = await fixture.Kafka.ConsumeRawAllAsync(crashOptions.Topics.LabelsById, TimeSpan.FromSeconds(30));
        output.WriteLine($"{labels.Count} labels, {byId.Count} records on labels-by-id ({byId.Count - labels.Count} produced again after a kill, dropped by the join)");
        Assert.True(byId.Count > labels.Count, "no label was produced again: the first kill missed the repartition step");
        await crashing.StopAsync(TimeSpan.FromSeconds(20));
        await crashing.DisposeAsync();
    }

    private async Task<(KafkaOptions Kafka, InfluxOptions Influx)> PrepareAsync(Func<string, int>? labelPartition = null)
    {
        var options = fixture.Kafka.CreateOptions();
        var influx = await fixture.Influx.CreateDatabaseAsync("quality");
        using var producer = fixture.Kafka.CreateProducer(options);
        var codec = fixture.Kafka.Codec;
        PredictionGenerator.Produce(producer, codec, options.Topics, _scenario.Predictions.OrderBy(p => p.Arrival).Select(p => p.Prediction));

        foreach (var (label, _) in _scenario.Labels.OrderBy(l => l.Arrival))
        {
            var message = new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes(label.EventId), Value = codec.Serialize(label) };
            producer.Produce(new TopicPartition(options.Topics.Labels, labelPartition?.Invoke(label.EventId) ?? Partition.Any), message);
        }

        // Per partition an error prediction far in the future: it closes and expires everything before it (and, being an
        // error, opens no quality window of its own).
        var sentinelTime = _scenario.Labels.Max(l => l.Label.LabelTimeMs) + (3 * HorizonMs);
        PredictionGenerator.ProduceSentinels(producer, codec, options.Topics, sentinelTime, partition => "sentinel-" + partition.ToString(CultureInfo.InvariantCulture));

        producer.Flush(TimeSpan.FromSeconds(30));
        return (options, influx);
    }

    private ServiceProcess Start(KafkaOptions kafka, InfluxOptions influx, string name, string labelCommitInterval = "00:00:00.200") =>
        AggregatorProcess.Start(kafka, influx, checkpointEveryRecords: 1000, TestOutput.Forward(output, name), new Dictionary<string, string?>
        {
            ["Aggregator__Quality__LabelCommitInterval"] = labelCommitInterval,
            ["Aggregator__Quality__Window"] = "1m",
            ["Aggregator__Quality__Grace"] = "1m",
            ["Aggregator__Quality__LabelHorizon"] = "10m",
            ["Aggregator__Quality__UpdateInterval"] = "1m",
            // Small lanes: the event-time merge pauses and resumes partitions throughout the run.
            ["Aggregator__Quality__LaneCapacity"] = "64",
        });

    /// <summary>Window keys of the OK predictions: every one must end with a final result.</summary>
    private HashSet<string> ExpectedWindows() =>
        _scenario.Predictions.Select(p => p.Prediction).Where(p => p.Status == PredictionStatus.OK)
            .Select(p => Key(p.ModelVersion, p.EventTimeMs - (p.EventTimeMs % WindowMs)))
            .ToHashSet(StringComparer.Ordinal);

    private static string Key(string version, long start) => LabelScenario.Key(version, start);

    private async Task<Dictionary<string, byte[]>> WaitForFinalResultsAsync(KafkaOptions options, ServiceProcess process)
    {
        var expected = ExpectedWindows();
        var results = await AggregatorProcess.WaitForResultsAsync(fixture.Kafka, options.Topics.QualityResults, process, Deadline,
            latest => expected.All(key => latest.TryGetValue(key, out var value) && fixture.Kafka.Codec.Deserialize<QualityWindowResult>(value).Final),
            latest => $"quality results incomplete: {expected.Count(k => latest.ContainsKey(k))}/{expected.Count} windows present, {latest.Values.Count(v => fixture.Kafka.Codec.Deserialize<QualityWindowResult>(v).Final)} final");
        Assert.Equal(expected.Order(StringComparer.Ordinal), results.Keys.Order(StringComparer.Ordinal));
        return results;
    }

    private async Task AssertDeadLettersAsync(KafkaOptions options)
    {
        // Replays after a kill re-send dead letters with the same key (source topic/partition/offset): count distinct keys.
        var letters = await fixture.Kafka.ConsumeAllAsync<DeadLetter>(options.Topics.DeadLetter, TimeSpan.FromSeconds(30));
        var reasons = letters.Where(l => l.Value.SourceTopic == options.Topics.Labels).GroupBy(l => l.Value.ReasonCode).ToDictionary(g => g.Key, g => g.Select(l => l.Key).Distinct(StringComparer.Ordinal).Count(), StringComparer.Ordinal);
        foreach (var (reason, count) in _scenario.ExpectedLabelDeadLetters())
        {
            Assert.Equal((reason, count), (reason, reasons.GetValueOrDefault(reason)));
        }

        Assert.True(reasons.GetValueOrDefault("LABEL_UNKNOWN_PREDICTION") > 0 && reasons.GetValueOrDefault("LABEL_EXPIRED") > 0 && reasons.GetValueOrDefault("LABEL_DUPLICATE") > 0, "the scenario lacks a label case");
        Assert.Equal(4, reasons.Count);
    }

    private async Task AssertInfluxAsync(InfluxOptions influx, Dictionary<string, byte[]> results)
    {
        // The projection trails the topic: poll until every window's point carries its final result's values.
        using var client = InfluxFixture.CreateQueryClient(influx);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (true)
        {
            var series = await client.QueryAsync("SELECT * FROM quality_window WHERE model = 'fraud' GROUP BY *");
            var points = series.SelectMany(s => Enumerable.Range(0, s.Rows.Count).Select(row =>
                (Key: Key(s.Tags["version"], new DateTimeOffset(s.GetTime(row)).ToUnixTimeMilliseconds()), Window: s.Tags["window"], Labeled: s.GetInt64(row, "labeled"), Revision: s.GetInt64(row, "revision"), Accuracy: s.GetDouble(row, "accuracy"), Coverage: s.GetDouble(row, "label_coverage"))))
                .ToDictionary(p => p.Key, StringComparer.Ordinal);
            var matching = results.Count(r =>
            {
                var result = fixture.Kafka.Codec.Deserialize<QualityWindowResult>(r.Value);
                return points.TryGetValue(r.Key, out var point) && point.Window == "1m" && point.Revision == result.Revision && point.Labeled == result.Labeled
                    && Math.Abs((point.Accuracy ?? double.NaN) - result.Accuracy!.Value) < 1e-12 && Math.Abs((point.Coverage ?? double.NaN) - result.LabelCoverage) < 1e-12;
            });
            if (matching == results.Count && points.Count == results.Count)
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, $"quality_window: {matching} of {results.Count} points carry the final result ({points.Count} points)");
            await Task.Delay(500);
        }
    }
}
