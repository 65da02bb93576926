using System.Globalization;
using System.Text;
using StreamMonitor.Contracts;
using StreamMonitor.Kafka;
using StreamMonitor.Models;
using StreamMonitor.Models.Training;
using StreamMonitor.Streams;
using StreamMonitor.Testing;
using Xunit.Abstractions;

namespace StreamMonitor.EndToEnd.Tests;

/// <summary>
/// Issue #12 end to end: examples/python/produce_features.py (Debian's python3-confluent-kafka and python3-avro) writes
/// Avro and JSON feature events and, with the client's default partitioner (CRC32 of the key, not murmur2), labels for
/// all but every fourth event; the scorer and the aggregator run as their own processes. Every event gets exactly one
/// OK prediction, nothing is dead-lettered, and the final quality results count every event and every label produced:
/// the realized coverage is the labels produced over the events, although labels sit on other partitions than their
/// predictions (the aggregator's label repartition step).
/// </summary>
public sealed class PythonExampleEndToEndTests(EmbeddedKafkaFixture kafka, ITestOutputHelper output) : IClassFixture<EmbeddedKafkaFixture>, IDisposable
{
    private const int PerFormat = 40;
    private const int UnlabeledEvery = 4;

    /// <summary>2026-01-01T00:00Z: a minute boundary in the past, so every event falls in one quality window and the event-time policy accepts it.</summary>
    private const long TimeMs = 1_767_225_600_000;

    private const long WindowMs = 60_000;

    /// <summary>
    /// Events this far after the real ones move every predictions partition's stream time past the real window's close
    /// and the 10 min label horizon, so the window becomes final without waiting for wall-clock time.
    /// </summary>
    private const long CloseAfterMs = 3 * 3_600_000;

    private const int ClosingPerFormat = 8;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    private readonly string _store = Directory.CreateTempSubdirectory("streammon-python-e2e-").FullName;

    [Fact]
    public async Task Python_events_are_all_scored_and_coverage_equals_the_labels_produced_with_the_default_partitioner()
    {
        // Never skipped: without the packages this fails and says how to install them (./test.sh does as root).
        var probe = await PythonScript.RunAsync(["-c", "import confluent_kafka, avro"], TimeSpan.FromSeconds(30), output.WriteLine);
        Assert.True(probe.Exit == 0, $"{PythonScript.Python} cannot import confluent_kafka and avro: run scripts/ensure-python.sh as root.\n{probe.Output}");

        ModelBuilder.Build(new ModelBuildRequest
        {
            DataPath = RepoPaths.DataSet,
            StoreRoot = _store,
            Name = "cancer",
            Version = "1",
            Settings = new TrainingSettings { Epochs = 20, Seed = 42 },
        });
        var options = kafka.CreateOptions();
        var suffix = options.Topics.Suffix.Trim('.');
        await using var scorer = ServiceProcess.Start(new ServiceProcessOptions(StreammonCli.ServiceDllPath("scorer", "StreamMonitor.Scorer"))
        {
            Environment = new Dictionary<string, string?>(EmbeddedKafkaFixture.EnvironmentFor(options))
            {
                ["Scorer__ModelStorePath"] = _store,
                ["Scorer__Models__0"] = "cancer",
                ["Scorer__ConsumerGroup"] = "scorer-" + suffix,
                ["Urls"] = "http://127.0.0.1:0",
            },
            OnLine = TestOutput.Forward(output, "scorer"),
        });
        await using var aggregator = AggregatorProcess.Start(options, new Dictionary<string, string?>
        {
            ["Aggregator__Latency"] = "false",
            ["Aggregator__Drift"] = "false",
            ["Aggregator__InfluxEnabled"] = "false",
            ["Aggregator__ConsumerGroup"] = "agg-" + suffix,
            ["Aggregator__Quality__Window"] = "1m",
            ["Aggregator__Quality__LabelHorizon"] = "10m",
            ["Urls"] = "http://127.0.0.1:0",
        }, TestOutput.Forward(output, "aggregator"));
        await scorer.WaitForLineAsync("Assigned partitions", Deadline);

        var produced = await ProduceAsync(options, "py", TimeMs, UnlabeledEvery, PerFormat);
        var events = Ids("py", PerFormat);
        var labeled = events.Where(id => int.Parse(id[^5..], CultureInfo.InvariantCulture) % UnlabeledEvery != UnlabeledEvery - 1).ToHashSet(StringComparer.Ordinal);
        Assert.Equal($"produced {events.Count} feature events and {labeled.Count} labels (avro, json)", produced);

        // Only once the real predictions are all written do the closing events follow them on every partition.
        await WaitForPredictionsAsync(options, events);
        var closing = Ids("py-close", ClosingPerFormat);
        Assert.Equal(
            Enumerable.Range(0, options.Topics.InputPartitions),
            closing.Select(id => Murmur2.Partition(Encoding.UTF8.GetBytes(id), options.Topics.InputPartitions)).Distinct().Order());
        await ProduceAsync(options, "py-close", TimeMs + CloseAfterMs, unlabeledEvery: 1, ClosingPerFormat);

        var windows = events.Select(id => TimeMs + int.Parse(id[^5..], CultureInfo.InvariantCulture))
            .Select(t => new WindowKey(WindowKind.Quality, "cancer", "1", t - (t % WindowMs), WindowMs).ToString()).ToHashSet(StringComparer.Ordinal);
        var latest = await AggregatorProcess.WaitForResultsAsync(kafka, options.Topics.QualityResults, aggregator, Deadline,
            results => windows.All(key => results.TryGetValue(key, out var value) && kafka.Codec.Deserialize<QualityWindowResult>(value).Final),
            results => $"quality results incomplete: {windows.Count(results.ContainsKey)}/{windows.Count} windows present");

        // 100 % scored: exactly one OK prediction per event, closing events included, nothing dead-lettered.
        var predictions = await kafka.ConsumeAllAsync<Prediction>(options.Topics.Predictions, TimeSpan.FromSeconds(30));
        Assert.Equal(events.Concat(closing).Order(StringComparer.Ordinal), predictions.Select(p => p.Value.EventId).Order(StringComparer.Ordinal));
        Assert.All(predictions, p => Assert.True(p.Value.Status == PredictionStatus.OK && p.Key == p.Value.EventId, $"{p.Key}: {p.Value.Status} {p.Value.ErrorReason}"));
        var deadLetters = await kafka.ConsumeAllAsync<DeadLetter>(options.Topics.DeadLetter, TimeSpan.FromSeconds(30));
        Assert.True(deadLetters.Count == 0, string.Join('\n', deadLetters.Select(d => $"{d.Value.ReasonCode}: {d.Value.Reason}")));

        // Meaningful only if the default partitioner put labels elsewhere than the scorer put their predictions.
        var predictionPartition = predictions.ToDictionary(p => p.Key, p => p.Partition, StringComparer.Ordinal);
        var labels = await kafka.ConsumeRawAllAsync(options.Topics.Labels, TimeSpan.FromSeconds(30));
        Assert.Equal(labeled.Order(StringComparer.Ordinal), labels.Select(l => Encoding.UTF8.GetString(l.Message.Key)).Order(StringComparer.Ordinal));
        var offPartition = labels.Count(l => l.Partition.Value != predictionPartition[Encoding.UTF8.GetString(l.Message.Key)]);
        Assert.True(offPartition > 0, "the default partitioner put every label on its prediction's partition: the test proves nothing");

        var results = windows.Select(key => kafka.Codec.Deserialize<QualityWindowResult>(latest[key])).ToList();
        var coverage = (double)results.Sum(r => r.Labeled) / results.Sum(r => r.Predictions);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{events.Count} events, {labels.Count} labels, {offPartition} off their prediction's partition, {results.Count} windows, realized coverage {coverage:F4}"));
        Assert.Equal((events.Count, labeled.Count, events.Count - labeled.Count), (results.Sum(r => r.Predictions), results.Sum(r => r.Labeled), results.Sum(r => r.ExpiredUnlabeled)));
        Assert.Equal((double)labeled.Count / events.Count, coverage, 12);
        Assert.All(results, r => Assert.Equal((double)r.Labeled / r.Predictions, r.LabelCoverage, 12));
    }

    public void Dispose() => Directory.Delete(_store, recursive: true);

    /// <summary>The event ids produce_features.py gives <paramref name="perFormat"/> events per format under <paramref name="prefix"/>.</summary>
    private static List<string> Ids(string prefix, int perFormat) =>
        ((string[])["avro", "json"]).SelectMany(format => Enumerable.Range(0, perFormat).Select(i => string.Create(CultureInfo.InvariantCulture, $"{prefix}-{format}-{i:D5}"))).ToList();

    /// <summary>Runs produce_features.py with the client's default partitioner; returns its summary line.</summary>
    private async Task<string> ProduceAsync(KafkaOptions options, string prefix, long timeMs, int unlabeledEvery, int perFormat)
    {
        var run = await PythonScript.RunAsync(
        [
            Path.Combine(PythonScript.Examples, "produce_features.py"), "--bootstrap-servers", options.BootstrapServers, "--topic-suffix", options.Topics.Suffix,
            "--model", "cancer", "--count", perFormat.ToString(CultureInfo.InvariantCulture), "--id-prefix", prefix,
            "--time-ms", timeMs.ToString(CultureInfo.InvariantCulture), "--unlabeled-every", unlabeledEvery.ToString(CultureInfo.InvariantCulture),
        ], Deadline, output.WriteLine);
        Assert.True(run.Exit == 0, run.Output);
        return run.Stdout.Trim();
    }

    /// <summary>Waits until the predictions topic holds a prediction of every one of <paramref name="events"/>.</summary>
    private async Task WaitForPredictionsAsync(KafkaOptions options, IReadOnlyCollection<string> events)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (true)
        {
            var scored = (await kafka.ConsumeAllAsync<Prediction>(options.Topics.Predictions, TimeSpan.FromSeconds(30))).Select(p => p.Value.EventId).ToHashSet(StringComparer.Ordinal);
            if (events.All(scored.Contains))
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, $"{events.Count(scored.Contains)} of {events.Count} events scored");
            await Task.Delay(250);
        }
    }
}
