using System.Globalization;
using System.Text;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.Validation;
using StreamMonitor.Kafka;
using StreamMonitor.Testing;
using Xunit.Abstractions;

namespace StreamMonitor.Scorer.Tests;

/// <summary>
/// The Python recipes of docs/producing.md, run as a team would run them: examples/python/produce_features.py writes
/// Avro (single-object encoding by streammon_avro.py) and JSON feature events and their labels with Debian's
/// python3-confluent-kafka and python3-avro and the client's default partitioner; the scorer, its own process, scores
/// every event, nothing is dead-lettered, consume_predictions.py reads every prediction, and every label passes the
/// record policy the aggregator reads labels with.
/// </summary>
public sealed class PythonExampleTests(EmbeddedKafkaFixture cluster, ITestOutputHelper output) : IClassFixture<EmbeddedKafkaFixture>, IDisposable
{
    private const int PerFormat = 40;

    private readonly string _store = Directory.CreateTempSubdirectory("streammon-python-").FullName;

    [Fact]
    public async Task Avro_and_json_events_from_python_are_all_scored_and_none_is_dead_lettered()
    {
        // Never skipped: without the packages this fails and says how to install them (./test.sh does as root).
        var probe = await PythonScript.RunAsync(["-c", "import confluent_kafka, avro"], TimeSpan.FromSeconds(30), output.WriteLine);
        Assert.True(probe.Exit == 0,
            $"{PythonScript.Python} cannot import confluent_kafka and avro: run scripts/ensure-python.sh as root (apt-get install python3-confluent-kafka python3-avro).\n{probe.Output}");

        ScorerHarness.BuildModel(_store, "cancer", "1");
        var options = cluster.CreateOptions();
        var scorer = StartScorer(options);
        await using var _ = scorer;
        await scorer.WaitForLineAsync("Assigned partitions", TimeSpan.FromSeconds(60));

        string[] kafka = ["--bootstrap-servers", options.BootstrapServers, "--topic-suffix", options.Topics.Suffix];
        var produced = await PythonScript.RunAsync(
            [Path.Combine(PythonScript.Examples, "produce_features.py"), .. kafka, "--model", "cancer", "--count", PerFormat.ToString(CultureInfo.InvariantCulture)],
            TimeSpan.FromSeconds(60), output.WriteLine);
        Assert.True(produced.Exit == 0, produced.Output);

        var consumed = await PythonScript.RunAsync(
            [Path.Combine(PythonScript.Examples, "consume_predictions.py"), .. kafka, "--group", "python" + options.Topics.Suffix,
             "--expect", (2 * PerFormat).ToString(CultureInfo.InvariantCulture), "--timeout", "60"],
            TimeSpan.FromSeconds(90), output.WriteLine);
        Assert.True(consumed.Exit == 0, consumed.Output);

        var expected = Enumerable.Range(0, PerFormat)
            .SelectMany(i => new[] { $"py-avro-{i:D5}", $"py-json-{i:D5}" }).ToHashSet(StringComparer.Ordinal);
        var predictions = consumed.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.Split(' ')).ToList();
        Assert.Equal(expected, predictions.Select(p => p[0]).ToHashSet(StringComparer.Ordinal));
        Assert.All(predictions, p => Assert.True(p[1] == "OK" && p[2] == "cancer/1", string.Join(' ', p)));

        var deadLetters = await cluster.ConsumeAllAsync<DeadLetter>(options.Topics.DeadLetter, TimeSpan.FromSeconds(30));
        Assert.True(deadLetters.Count == 0, string.Join('\n', deadLetters.Select(d => $"{d.Value.ReasonCode}: {d.Value.Reason}")));

        var policy = new RecordPolicy(cluster.Codec);
        var labels = await cluster.ConsumeRawAllAsync(options.Topics.Labels, TimeSpan.FromSeconds(30));
        Assert.Equal(expected, labels.Select(l => Encoding.UTF8.GetString(l.Message.Key)).ToHashSet(StringComparer.Ordinal));
        Assert.All(labels, l =>
        {
            var label = policy.Labels(l.Message.Value, l.Message.Timestamp.UnixTimestampMs);
            Assert.True(label.IsValid && label.Value!.EventId == Encoding.UTF8.GetString(l.Message.Key), label.Rejection?.ToString());
        });
    }

    public void Dispose() => Directory.Delete(_store, recursive: true);

    private ServiceProcess StartScorer(KafkaOptions options) => ScorerHarness.StartScorerProcess(options, _store, TestOutput.Forward(output));
}
