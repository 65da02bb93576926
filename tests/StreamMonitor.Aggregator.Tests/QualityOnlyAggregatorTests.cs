using System.Text;
using Confluent.Kafka;
using StreamMonitor.Contracts;
using StreamMonitor.Testing;
using Xunit.Abstractions;

namespace StreamMonitor.Aggregator.Tests;

/// <summary>
/// An aggregator configured with the quality topology alone (no latency, no drift) starts — it used to refuse with
/// "No topology is enabled" — and its final quality results equal the exact metrics of the joined pairs.
/// </summary>
public sealed class QualityOnlyAggregatorTests(EmbeddedKafkaFixture kafka, ITestOutputHelper output) : IClassFixture<EmbeddedKafkaFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(180);

    [Fact]
    public async Task The_quality_topology_alone_starts_and_gives_the_exact_final_results()
    {
        var scenario = LabelScenario.Generate(1_500, seed: 29);
        var options = kafka.CreateOptions();
        using (var producer = kafka.CreateProducer(options))
        {
            PredictionGenerator.Produce(producer, kafka.Codec, options.Topics, scenario.Predictions.OrderBy(p => p.Arrival).Select(p => p.Prediction));
            foreach (var (label, _) in scenario.Labels.OrderBy(l => l.Arrival))
            {
                producer.Produce(options.Topics.Labels, new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes(label.EventId), Value = kafka.Codec.Serialize(label) });
            }

            // An error prediction far in the future per partition closes and expires everything before it.
            PredictionGenerator.ProduceSentinels(producer, kafka.Codec, options.Topics, scenario.Labels.Max(l => l.Label.LabelTimeMs) + (3 * LabelScenario.HorizonMs));
            producer.Flush(TimeSpan.FromSeconds(30));
        }

        await using var process = AggregatorProcess.Start(options, new Dictionary<string, string?>
        {
            ["Aggregator__Latency"] = "false",
            ["Aggregator__Drift"] = "false",
            ["Aggregator__InfluxEnabled"] = "false",
            ["Aggregator__ConsumerGroup"] = "agg-quality-only-" + options.Topics.Suffix.Trim('.'),
            ["Aggregator__Quality__Window"] = "1m",
            ["Aggregator__Quality__Grace"] = "1m",
            ["Aggregator__Quality__LabelHorizon"] = "10m",
            ["Aggregator__Quality__UpdateInterval"] = "1m",
            ["Urls"] = "http://127.0.0.1:0",
        }, TestOutput.Forward(output, "quality-only"));

        var expected = scenario.Predictions.Select(p => p.Prediction).Where(p => p.Status == PredictionStatus.OK)
            .Select(p => LabelScenario.Key(p.ModelVersion, p.EventTimeMs - (p.EventTimeMs % LabelScenario.WindowMs)))
            .ToHashSet(StringComparer.Ordinal);
        var results = await AggregatorProcess.WaitForResultsAsync(kafka, options.Topics.QualityResults, process, Deadline,
            latest => expected.All(key => latest.TryGetValue(key, out var value) && kafka.Codec.Deserialize<QualityWindowResult>(value).Final),
            latest => $"quality results incomplete: {expected.Count(k => latest.ContainsKey(k))}/{expected.Count} windows present");
        Assert.Equal(expected.Order(StringComparer.Ordinal), results.Keys.Order(StringComparer.Ordinal));
        scenario.AssertExact(results.ToDictionary(r => r.Key, r => kafka.Codec.Deserialize<QualityWindowResult>(r.Value), StringComparer.Ordinal));
        Assert.DoesNotContain(process.Lines, l => l.Contains("No topology is enabled", StringComparison.Ordinal));
    }
}
