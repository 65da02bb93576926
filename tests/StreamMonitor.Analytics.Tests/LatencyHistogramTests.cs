using StreamMonitor.Analytics.Latency;

namespace StreamMonitor.Analytics.Tests;

public class LatencyHistogramTests
{
    private static readonly int[] Quantiles = [1_000, 50_000, 90_000, 95_000, 99_000, 99_900, 99_990, 100_000];

    public static TheoryData<string> Distributions => new() { "uniform", "lognormal", "pareto", "bimodal", "small-integers", "constant" };

    private static long[] Generate(string distribution, int n, int seed)
    {
        var random = new Random(seed);
        double Normal() => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        return Enumerable.Range(0, n).Select(_ => distribution switch
        {
            "uniform" => (long)random.Next(1, 2_000_000),
            "lognormal" => (long)Math.Exp(9 + (1.5 * Normal())),
            "pareto" => (long)Math.Min(3_000_000_000, 500 / Math.Pow(1 - random.NextDouble(), 1 / 1.1)),
            "bimodal" => random.NextDouble() < 0.9 ? (long)Math.Max(1, 2_000 + (200 * Normal())) : (long)Math.Max(1, 400_000 + (50_000 * Normal())),
            "small-integers" => random.Next(0, 300),
            _ => 12_345L,
        }).ToArray();
    }

    private static long ExactNearestRank(long[] sorted, int partsPer100k) => sorted[LatencyHistogram.NearestRank(sorted.Length, partsPer100k) - 1];

    [Theory]
    [MemberData(nameof(Distributions))]
    public void Every_percentile_is_within_the_stated_relative_error_of_the_exact_sorted_value(string distribution)
    {
        foreach (var n in new[] { 1, 7, 1_000, 100_000 })
        {
            var values = Generate(distribution, n, seed: n);
            var histogram = new LatencyHistogram();
            foreach (var v in values)
            {
                histogram.Record(v);
            }

            var sorted = values.Order().ToArray();
            var reported = histogram.Percentiles(Quantiles);
            for (var i = 0; i < Quantiles.Length; i++)
            {
                var exact = ExactNearestRank(sorted, Quantiles[i]);
                var error = Math.Abs(reported[i] - exact);
                Assert.True(error <= exact * LatencyHistogram.RelativeErrorBound, $"{distribution} n={n} q={Quantiles[i]}: reported {reported[i]}, exact {exact}");
            }

            Assert.Equal(sorted[^1], histogram.Max);
            Assert.Equal(sorted[0], histogram.Min);
            Assert.Equal(values.Sum(), histogram.Sum);
        }
    }

    [Fact]
    public void The_library_top_of_bucket_value_can_exceed_the_bound_that_the_midpoint_keeps()
    {
        // Why the midpoint is reported: values just above a bucket's lowest value are over-reported by up to 1/128.
        var histogram = new LatencyHistogram();
        for (var i = 0; i < 1000; i++)
        {
            histogram.Record(1_024_000);
        }

        var top = histogram.Histogram.GetValueAtPercentile(50);
        Assert.True((top - 1_024_000) / 1_024_000.0 > LatencyHistogram.RelativeErrorBound);
        Assert.True(Math.Abs(histogram.Percentiles([50_000])[0] - 1_024_000) <= 1_024_000 * LatencyHistogram.RelativeErrorBound);
    }

    [Fact]
    public void Merging_sixteen_partial_histograms_is_bucket_for_bucket_identical_to_one_built_from_all_values()
    {
        var values = Generate("lognormal", 200_000, 11);
        var whole = new LatencyHistogram();
        var parts = Enumerable.Range(0, 16).Select(_ => new LatencyHistogram()).ToArray();
        for (var i = 0; i < values.Length; i++)
        {
            whole.Record(values[i]);
            parts[i % 16].Record(values[i]);
        }

        // Through the wire format, as the merge stage sees them.
        var merged = new LatencyHistogram();
        foreach (var part in parts)
        {
            merged.MergeFrom(RoundTrip(part));
        }

        var expectedCounts = whole.Histogram.AllValues().Select(v => (v.ValueIteratedTo, v.CountAtValueIteratedTo)).ToList();
        var actualCounts = merged.Histogram.AllValues().Select(v => (v.ValueIteratedTo, v.CountAtValueIteratedTo)).ToList();
        Assert.Equal(expectedCounts, actualCounts);
        Assert.Equal((whole.Count, whole.Sum, whole.Min, whole.Max), (merged.Count, merged.Sum, merged.Min, merged.Max));
        Assert.Equal(whole.Percentiles(Quantiles), merged.Percentiles(Quantiles));
        Assert.Equal(Serialize(whole), Serialize(merged));
    }

    [Fact]
    public void Values_outside_the_trackable_range_are_clamped_and_counted()
    {
        var histogram = new LatencyHistogram();
        histogram.Record(-5);
        histogram.Record(LatencyHistogram.HighestTrackableUs * 3);
        histogram.Record(100);
        Assert.Equal(2, histogram.Clamped);
        Assert.Equal(3, histogram.Count);
        Assert.Equal(LatencyHistogram.HighestTrackableUs * 3, histogram.Max);
        Assert.Equal(0, histogram.Min);
        var top = histogram.Percentiles([100_000])[0];
        Assert.True(Math.Abs(top - LatencyHistogram.HighestTrackableUs) <= LatencyHistogram.HighestTrackableUs * LatencyHistogram.RelativeErrorBound);
    }

    private static LatencyHistogram RoundTrip(LatencyHistogram histogram)
    {
        var bytes = Serialize(histogram);
        using var reader = new BinaryReader(new MemoryStream(bytes));
        return LatencyHistogram.ReadEmbedded(reader);
    }

    private static byte[] Serialize(LatencyHistogram histogram)
    {
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer))
        {
            LatencyHistogram.Codec.Write(writer, histogram);
        }

        return buffer.ToArray();
    }
}
