using StreamMonitor.Analytics.Latency;
namespace StreamMonitor.Analytics.Tests;

/// <summary>
/// Values beyond the histogram's range [0, 1 h] are clamped: the clamp counts are kept per side, survive encoding and
/// merging, and the relative error bound is claimed only for percentiles whose nearest rank falls on an unclamped value.
/// </summary>
public class LatencyClampTests
{
    private static readonly int[] Quantiles = [50_000, 90_000, 95_000, 99_000, 99_900];

    private static LatencyHistogram RoundTrip(byte[] bytes)
    {
        using var reader = new BinaryReader(new MemoryStream(bytes));
        return LatencyHistogram.ReadEmbedded(reader);
    }

    private static byte[] Encode(LatencyHistogram histogram)
    {
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer))
        {
            LatencyHistogram.Codec.Write(writer, histogram);
        }

        return buffer.ToArray();
    }

    [Fact]
    public void The_bound_holds_for_the_percentiles_below_the_clamped_values_and_is_not_claimed_above()
    {
        var random = new Random(5);
        var values = Enumerable.Range(0, 985).Select(_ => (long)random.Next(1_000, 5_000_000))
            .Concat(Enumerable.Range(0, 15).Select(i => LatencyHistogram.HighestTrackableUs + 1 + (i * 60_000_000L)))
            .OrderBy(_ => random.Next()).ToArray();
        var histogram = new LatencyHistogram();
        foreach (var value in values)
        {
            histogram.Record(value);
        }

        Assert.Equal((0L, 15L, 15L), (histogram.ClampedBelow, histogram.ClampedAbove, histogram.Clamped));
        var sorted = values.Order().ToArray();
        var reported = histogram.Percentiles(Quantiles);
        for (var i = 0; i < Quantiles.Length; i++)
        {
            var exact = sorted[LatencyHistogram.NearestRank(sorted.Length, Quantiles[i]) - 1];
            if (histogram.IsWithinBound(Quantiles[i]))
            {
                Assert.True(Math.Abs(reported[i] - exact) <= exact * LatencyHistogram.RelativeErrorBound, $"q{Quantiles[i]}: {reported[i]} vs {exact}");
            }
            else
            {
                // Clamped: the reported 1 h is a lower bound, far below the exact value.
                Assert.True(reported[i] <= LatencyHistogram.HighestTrackableUs && exact > LatencyHistogram.HighestTrackableUs);
                Assert.True((exact - reported[i]) > exact * LatencyHistogram.RelativeErrorBound);
            }
        }

        // Ranks 500, 900, 950 fall on unclamped values; 990 and 999 on the 15 clamped ones.
        Assert.Equal(new[] { true, true, true, false, false }, Quantiles.Select(histogram.IsWithinBound));
    }

    [Fact]
    public void Negative_values_are_clamped_below_and_take_the_lowest_ranks_out_of_the_bound()
    {
        var histogram = new LatencyHistogram();
        foreach (var value in new long[] { -5, -1, 10, 20, 30, 40, 50, 60, 70, 80 })
        {
            histogram.Record(value);
        }

        Assert.Equal((2L, 0L), (histogram.ClampedBelow, histogram.ClampedAbove));
        Assert.False(histogram.IsWithinBound(10_000));
        Assert.False(histogram.IsWithinBound(20_000));
        Assert.True(histogram.IsWithinBound(30_000));
        Assert.True(new LatencyHistogram().IsWithinBound(99_900));
    }

    [Fact]
    public void Clamp_counts_survive_encoding_and_merging()
    {
        var a = new LatencyHistogram();
        var b = new LatencyHistogram();
        a.Record(-3);
        a.Record(100);
        b.Record(LatencyHistogram.HighestTrackableUs * 2);
        b.Record(200);
        var merged = RoundTrip(Encode(a));
        merged.MergeFrom(RoundTrip(Encode(b)));
        Assert.Equal((1L, 1L, 4L), (merged.ClampedBelow, merged.ClampedAbove, merged.Count));
        Assert.Equal(Encode(merged), Encode(RoundTrip(Encode(merged))));
        Assert.Equal(LatencyHistogram.HighestTrackableUs * 2, merged.Max);
    }

    [Fact]
    public void A_histogram_in_the_first_encoding_still_reads_with_its_clamped_values_above_the_range()
    {
        var histogram = new LatencyHistogram();
        histogram.Record(1_000);
        histogram.Record(LatencyHistogram.HighestTrackableUs + 5);
        var current = Encode(histogram);

        // The first encoding: count, sum, min, max, one clamp count, then the same compressed histogram. The current
        // one is a marker, count, sum, min, max, clamped below, clamped above, then the histogram.
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer))
        {
            writer.Write(histogram.Count);
            writer.Write(histogram.Sum);
            writer.Write(histogram.Min);
            writer.Write(histogram.Max);
            writer.Write(histogram.Clamped);
            writer.Write(current.AsSpan(56));
        }

        var old = RoundTrip(buffer.ToArray());
        Assert.Equal((2L, 0L, 1L), (old.Count, old.ClampedBelow, old.ClampedAbove));
        Assert.Equal(current, Encode(old));
        Assert.False(old.IsWithinBound(100_000));
    }
}
