using System.Globalization;
using System.Text;
using StreamMonitor.Contracts;
using StreamMonitor.Kafka;
using StreamMonitor.Streams;
using StreamMonitor.Testing;
using Xunit.Abstractions;

namespace StreamMonitor.Aggregator.Tests;

/// <summary>
/// Labels produced by examples/python/produce_features.py (Avro and JSON, Debian's python3-confluent-kafka) with the
/// client's default partitioner (consistent_random: CRC32 of the key) join exactly like labels produced with murmur2:
/// the aggregator repartitions them by event id. Same events and labels in two namespaces, one per partitioner; the
/// quality results must be byte-identical and their realized coverage the labels produced over the predictions.
/// Predictions are generated here, keyed and partitioned as the scorer writes them (PythonExampleTests runs the scorer
/// on the same script).
/// </summary>
public sealed class PythonLabelPartitionerTests(EmbeddedKafkaFixture kafka, ITestOutputHelper output) : IClassFixture<EmbeddedKafkaFixture>
{
    private const int PerFormat = 40;
    private const int UnlabeledEvery = 4;
    private const long TimeMs = 1_767_225_600_000;
    private const long WindowMs = 60_000;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task Labels_from_the_default_partitioner_give_the_same_quality_results_as_murmur2_labels()
    {
        var probe = await PythonScript.RunAsync(["-c", "import confluent_kafka, avro"], TimeSpan.FromSeconds(30), output.WriteLine);
        Assert.True(probe.Exit == 0, $"{PythonScript.Python} cannot import confluent_kafka and avro: run scripts/ensure-python.sh as root.\n{probe.Output}");

        var (byDefault, misplaced) = await RunAsync(partitioner: null);
        var (byMurmur2, misplacedMurmur2) = await RunAsync("murmur2_random");

        // Without the repartition step, a label on another partition than its prediction never joined.
        var predictions = 2 * PerFormat;
        var labels = 2 * (PerFormat - (PerFormat / UnlabeledEvery));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"default partitioner: {misplaced} of {labels} labels off their prediction's partition; coverage without repartitioning would be {(double)(labels - misplaced) / predictions:F3}, with it {(double)labels / predictions:F3}"));
        Assert.True(misplaced > 0, "the default partitioner put every label where murmur2 would: the test proves nothing");
        Assert.Equal(0, misplacedMurmur2);

        Assert.Equal(byMurmur2.Keys.Order(StringComparer.Ordinal), byDefault.Keys.Order(StringComparer.Ordinal));
        foreach (var (key, value) in byMurmur2)
        {
            Assert.True(value.AsSpan().SequenceEqual(byDefault[key]), $"result {key} differs between the partitioners: {System.Text.Json.JsonSerializer.Serialize(kafka.Codec.Deserialize<QualityWindowResult>(value))} vs {System.Text.Json.JsonSerializer.Serialize(kafka.Codec.Deserialize<QualityWindowResult>(byDefault[key]))}");
        }

        var results = byDefault.Values.Select(v => kafka.Codec.Deserialize<QualityWindowResult>(v)).ToList();
        Assert.All(results, r => Assert.True(r.Final));
        Assert.Equal((predictions, labels, predictions - labels), (results.Sum(r => r.Predictions), results.Sum(r => r.Labeled), results.Sum(r => r.ExpiredUnlabeled)));
        Assert.All(results, r => Assert.Equal((double)r.Labeled / r.Predictions, r.LabelCoverage, 12));
    }

    /// <summary>Produces the events and labels with <paramref name="partitioner"/>, runs the aggregator; returns the final quality results and how many labels landed off murmur2's partition.</summary>
    private async Task<(Dictionary<string, byte[]> Results, int Misplaced)> RunAsync(string? partitioner)
    {
        var options = kafka.CreateOptions();
        List<string> arguments =
        [
            Path.Combine(PythonScript.Examples, "produce_features.py"), "--bootstrap-servers", options.BootstrapServers, "--topic-suffix", options.Topics.Suffix,
            "--model", "cancer", "--count", PerFormat.ToString(CultureInfo.InvariantCulture), "--time-ms", TimeMs.ToString(CultureInfo.InvariantCulture),
            "--unlabeled-every", UnlabeledEvery.ToString(CultureInfo.InvariantCulture),
        ];
        if (partitioner is not null)
        {
            arguments.AddRange(["--partitioner", partitioner]);
        }

        var produced = await PythonScript.RunAsync(arguments, TimeSpan.FromSeconds(60), output.WriteLine);
        Assert.True(produced.Exit == 0, produced.Output);

        // The scorer's predictions of these events: OK, binary, event time as produced (time + i).
        var events = ((string[])["avro", "json"]).SelectMany(format => Enumerable.Range(0, PerFormat).Select(i => new Prediction
        {
            EventId = string.Create(CultureInfo.InvariantCulture, $"py-{format}-{i:D5}"),
            ModelName = "cancer",
            ModelVersion = "1",
            EventTimeMs = TimeMs + i,
            Status = PredictionStatus.OK,
            OutputKind = OutputKind.BINARY_PROBABILITY,
            Score = ((i * 37) % 100) / 100.0,
        })).ToList();
        using (var producer = kafka.CreateProducer(options))
        {
            PredictionGenerator.Produce(producer, kafka.Codec, options.Topics, events);
            PredictionGenerator.ProduceSentinels(producer, kafka.Codec, options.Topics, TimeMs + (3 * 3_600_000));
            producer.Flush(TimeSpan.FromSeconds(30));
        }

        var labels = await kafka.ConsumeRawAllAsync(options.Topics.Labels, TimeSpan.FromSeconds(30));
        var misplaced = labels.Count(l => l.Partition.Value != Murmur2.Partition(l.Message.Key, options.Topics.InputPartitions));

        await using var process = AggregatorProcess.Start(options, new Dictionary<string, string?>
        {
            ["Aggregator__Latency"] = "false",
            ["Aggregator__Drift"] = "false",
            ["Aggregator__InfluxEnabled"] = "false",
            ["Aggregator__ConsumerGroup"] = "agg-python-" + options.Topics.Suffix.Trim('.'),
            ["Aggregator__Quality__Window"] = "1m",
            ["Aggregator__Quality__LabelHorizon"] = "10m",
            ["Urls"] = "http://127.0.0.1:0",
        }, TestOutput.Forward(output, partitioner ?? "default"));
        var expected = events.Select(e => new WindowKey(WindowKind.Quality, "cancer", "1", e.EventTimeMs - (e.EventTimeMs % WindowMs), WindowMs).ToString()).ToHashSet(StringComparer.Ordinal);
        var results = await AggregatorProcess.WaitForResultsAsync(kafka, options.Topics.QualityResults, process, Deadline,
            latest => expected.All(key => latest.TryGetValue(key, out var value) && kafka.Codec.Deserialize<QualityWindowResult>(value).Final),
            latest => $"quality results incomplete: {expected.Count(latest.ContainsKey)}/{expected.Count} windows present");
        var deadLetters = await kafka.ConsumeAllAsync<DeadLetter>(options.Topics.DeadLetter, TimeSpan.FromSeconds(30));
        Assert.True(deadLetters.Count == 0, string.Join('\n', deadLetters.Select(d => $"{d.Value.ReasonCode}: {d.Value.Reason}")));
        return (results, misplaced);
    }
}
