using Confluent.Kafka;
using StreamMonitor.Stack;
using StreamMonitor.Testing;
using Xunit.Abstractions;

namespace StreamMonitor.Aggregator.Tests;

/// <summary>The aggregator process's own counters, scraped from its /metrics endpoint while it runs.</summary>
[Collection(AggregatorProcessCollection.Name)]
public sealed class AggregatorMetricsTests(AggregatorProcessFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public async Task Metrics_count_the_records_dead_letters_windows_and_checkpoints_and_show_stream_time_and_watermark()
    {
        var options = fixture.Kafka.CreateOptions();
        var codec = fixture.Kafka.Codec;
        var predictions = PredictionGenerator.Generate(2_000, seed: 3, stepMs: 20);
        var sentinelTime = predictions.Max(p => p.EventTimeMs) + 600_000;
        using (var producer = fixture.Kafka.CreateProducer(options))
        {
            PredictionGenerator.Produce(producer, codec, options.Topics, predictions);
            producer.Produce(new TopicPartition(options.Topics.Predictions, 0), new Message<byte[], byte[]> { Key = [1], Value = [0xde, 0xad, 0xbe, 0xef] });
            PredictionGenerator.ProduceSentinels(producer, codec, options.Topics, sentinelTime);
            producer.Flush(TimeSpan.FromSeconds(30));
        }

        var port = LocalPorts.Free();
        await using var process = AggregatorProcess.Start(
            options,
            new Dictionary<string, string?>
            {
                ["Aggregator__ConsumerGroup"] = "agg-metrics-" + options.Topics.Suffix.Trim('.'),
                ["Aggregator__InfluxEnabled"] = "false",
                ["Aggregator__CheckpointInterval"] = "200ms",
                ["Urls"] = $"http://127.0.0.1:{port}",
            },
            TestOutput.Forward(output));
        var metricsUrl = new Uri($"http://127.0.0.1:{port}/metrics");
        await process.WaitForHttpOkAsync(metricsUrl, TimeSpan.FromSeconds(90));

        // Every input record is counted once the process has consumed them all (generous deadline: a loaded machine).
        var expectedRecords = predictions.Count + 1 + options.Topics.InputPartitions;
        using var http = new HttpClient();
        Dictionary<string, double> metrics = [];
        var recordsSeries = $"streammon_aggregator_records_total{{processor=\"stage-a\",topic=\"{options.Topics.Predictions}\"}}";
        var qualitySeries = $"streammon_aggregator_records_total{{processor=\"quality\",topic=\"{options.Topics.Predictions}\"}}";
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
        while (DateTime.UtcNow < deadline)
        {
            metrics = MetricsText.Parse(await http.GetStringAsync(metricsUrl));
            if (metrics.GetValueOrDefault(recordsSeries) >= expectedRecords
                && metrics.GetValueOrDefault(qualitySeries) >= expectedRecords
                && metrics.GetValueOrDefault("streammon_aggregator_checkpoints_total{processor=\"quality\"}") > 0
                && metrics.GetValueOrDefault("streammon_aggregator_checkpoints_total{processor=\"stage-a\"}") > 0
                && metrics.Where(m => m.Key.StartsWith("streammon_aggregator_windows_emitted_total{kind=\"Latency\",output=\"result\"}", StringComparison.Ordinal)).Sum(m => m.Value) > 0)
            {
                break;
            }

            await Task.Delay(500);
        }

        Assert.Equal(expectedRecords, metrics[recordsSeries]);
        // The quality join reads the undecodable prediction too but leaves its dead letter to stage A: one, not two.
        Assert.Equal(expectedRecords, metrics[qualitySeries]);
        Assert.Equal(1, metrics.Where(m => m.Key.StartsWith("streammon_aggregator_dead_letters_total{", StringComparison.Ordinal)).Sum(m => m.Value));
        Assert.Equal(1, metrics[$"streammon_aggregator_rejected_records_total{{topic=\"{options.Topics.Predictions}\",reason_code=\"DECODE_TRUNCATED\"}}"]);
        Assert.True(metrics["streammon_aggregator_checkpoints_total{processor=\"quality\"}"] > 0);
        Assert.True(metrics["streammon_aggregator_checkpoints_total{processor=\"stage-a\"}"] > 0);
        Assert.True(metrics["streammon_aggregator_windows_emitted_total{kind=\"Latency\",output=\"final_partial\"}"] > 0);
        Assert.True(metrics["streammon_aggregator_windows_emitted_total{kind=\"Latency\",output=\"result\"}"] > 0);
        Assert.True(metrics.GetValueOrDefault($"streammon_aggregator_records_total{{processor=\"stage-b\",topic=\"{options.Topics.WindowPartials}\"}}") > 0);
        Assert.Equal(sentinelTime, metrics["streammon_aggregator_stream_time_ms{processor=\"stage-a\"}"]);
        Assert.Equal(sentinelTime, metrics["streammon_aggregator_watermark_ms"]);
        Assert.Equal(0, metrics["streammon_aggregator_merge_expired_total"]);
        Assert.True(metrics.ContainsKey("streammon_aggregator_merge_duplicates_total"));
        Assert.Equal(0, metrics.Where(m => m.Key.StartsWith("streammon_aggregator_late_records_total{", StringComparison.Ordinal)).Sum(m => m.Value));
    }
}
