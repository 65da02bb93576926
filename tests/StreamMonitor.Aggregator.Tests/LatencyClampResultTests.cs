using StreamMonitor.Analytics.Latency;
using StreamMonitor.Contracts;

namespace StreamMonitor.Aggregator.Tests;

/// <summary>
/// A window whose e2e latencies exceed the histogram's range (1 h): the result counts the clamped values per stage and
/// lists the percentiles the relative error bound does not hold for; the record round-trips through the codec.
/// </summary>
public class LatencyClampResultTests
{
    [Fact]
    public void Clamped_values_are_counted_and_the_percentiles_they_hold_are_listed_as_unbounded()
    {
        var aggregate = new LatencyAggregate([100_000]);
        for (var i = 0; i < 200; i++)
        {
            // 3 of 200 (1.5 %) queued for more than an hour: p99 (rank 198) and p99.9 (rank 200) are among them.
            var queued = i < 3 ? 2 * 3_600_000_000L : 1_000 + i;
            aggregate.Add(new Prediction
            {
                EventId = "e" + i,
                ModelName = "m",
                ModelVersion = "1",
                Status = PredictionStatus.OK,
                Timing = new PredictionTiming { KafkaQueueUs = queued, DecodeUs = 10, InferenceUs = 500, EncodeUs = 5, E2eUs = queued + 515 },
            });
        }

        var result = aggregate.ToResult(new WindowKey(WindowKind.Latency, "m", "1", 0, 60_000), partitions: 1);
        foreach (var stage in result.Stages)
        {
            var clamped = stage.Stage is "kafka_queue" or "e2e";
            Assert.Equal(clamped ? 3 : 0, stage.ClampedCount);
            Assert.Equal(clamped ? new[] { "p99", "p999" } : [], stage.UnboundedPercentiles);
        }

        var e2e = result.Stages.Single(s => s.Stage == "e2e");
        Assert.Equal(2 * 3_600_000_000L + 515, e2e.MaxUs);
        Assert.True(e2e.P99Us <= 3_600_000_000L);

        var codec = new EventCodec();
        var decoded = codec.Deserialize<LatencyWindowResult>(codec.Serialize(result));
        Assert.Equal(result.Stages.Select(s => (s.ClampedCount, string.Join(",", s.UnboundedPercentiles))), decoded.Stages.Select(s => (s.ClampedCount, string.Join(",", s.UnboundedPercentiles))));
    }
}
