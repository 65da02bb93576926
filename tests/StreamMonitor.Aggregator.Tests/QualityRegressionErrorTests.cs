using System.Numerics;
using StreamMonitor.Aggregator.Quality;
using StreamMonitor.Contracts;

namespace StreamMonitor.Aggregator.Tests;

/// <summary>
/// Regression MAE and RMSE are computed from the window's errors in a canonical order: the same labeled regression
/// predictions give the same bits whatever order they were joined in and however partials were split and merged, within
/// about an ulp of the exact value; states written before the errors were kept still give their former MAE and RMSE.
/// </summary>
public class QualityRegressionErrorTests
{
    private static readonly WindowKey Window = new(WindowKind.Quality, "price", "1", 60_000, 60_000);

    [Fact]
    public void Any_join_order_and_partial_split_gives_bit_identical_mae_and_rmse()
    {
        var pairs = Pairs(5_000, seed: 3);
        var expected = Result(Partial(pairs));
        var random = new Random(11);
        var runningSums = new HashSet<(double, double)>();
        for (var run = 0; run < 30; run++)
        {
            var shuffled = pairs.ToArray();
            random.Shuffle(shuffled);

            // Split into 1..8 partials, each through its encoded form, merged in a random order.
            var cuts = Enumerable.Range(0, random.Next(8)).Select(_ => random.Next(shuffled.Length + 1)).Append(0).Append(shuffled.Length).Distinct().Order().ToArray();
            var partials = cuts.Zip(cuts.Skip(1), (from, to) => RoundTrip(Partial(shuffled[from..to]))).ToArray();
            random.Shuffle(partials);
            var merged = new QualityAggregate();
            foreach (var partial in partials)
            {
                merged.MergeFrom(partial);
            }

            var result = Result(merged);
            Assert.Equal(BitConverter.DoubleToInt64Bits(expected.Mae!.Value), BitConverter.DoubleToInt64Bits(result.Mae!.Value));
            Assert.Equal(BitConverter.DoubleToInt64Bits(expected.Rmse!.Value), BitConverter.DoubleToInt64Bits(result.Rmse!.Value));
            runningSums.Add((shuffled.Sum(p => Math.Abs(p.Prediction - p.Label)), shuffled.Sum(p => (p.Prediction - p.Label) * (p.Prediction - p.Label))));
        }

        // The data discriminates: running sums in join order (the former state) differ between these orders.
        Assert.True(runningSums.Count > 1);
    }

    [Fact]
    public void Mae_and_rmse_are_within_an_ulp_or_two_of_the_exact_value()
    {
        foreach (var seed in new[] { 1, 2, 5 })
        {
            var pairs = Pairs(20_000, seed);
            var errors = pairs.Select(p => p.Prediction - p.Label).ToArray();
            var result = Result(Partial(pairs));
            AssertWithinUlps(ExactSum(errors.Select(Math.Abs)) / errors.Length, result.Mae!.Value);
            AssertWithinUlps(Math.Sqrt(ExactSum(errors.Select(e => e * e)) / errors.Length), result.Rmse!.Value);
        }
    }

    [Fact]
    public void An_old_state_with_running_sums_keeps_its_mae_and_rmse_through_a_round_trip_and_a_merge()
    {
        const double absSum = 12.345678901234567, squaredSum = 98.76543210987654;
        var old = QualityAggregate.ReadEmbedded(new BinaryReader(new MemoryStream(OldFormatState(regression: 7, absSum, squaredSum))));
        Assert.Equal(7, old.Regression);
        Assert.Equal([1_000L, 2_000L], old.DelaysMs);
        Assert.Equal([(0.75, true)], old.Scores);
        Assert.Empty(old.Errors);
        var oldResult = Result(old);
        Assert.Equal(absSum / 7, oldResult.Mae);
        Assert.Equal(Math.Sqrt(squaredSum / 7), oldResult.Rmse);

        // Written in the current format, the legacy sums stay what they were.
        var again = RoundTrip(old);
        Assert.Equal(oldResult.Mae, Result(again).Mae);
        Assert.Equal(oldResult.Rmse, Result(again).Rmse);

        // Merged with new errors: the legacy sums are added once to the sorted sums.
        var pairs = Pairs(100, seed: 9);
        again.MergeFrom(RoundTrip(Partial(pairs)));
        var (abs, squared) = QualityAggregate.ErrorSums(pairs.Select(p => p.Prediction - p.Label).ToList());
        var merged = Result(again);
        Assert.Equal((absSum + abs) / 107, merged.Mae);
        Assert.Equal(Math.Sqrt((squaredSum + squared) / 107), merged.Rmse);
    }

    [Fact]
    public void Lists_of_an_unknown_version_are_refused()
    {
        var state = OldFormatState(regression: 0, 0, 0).Concat(BitConverter.GetBytes(3)).Concat(BitConverter.GetBytes(0)).ToArray();
        Assert.Throws<InvalidDataException>(() => QualityAggregate.ReadEmbedded(new BinaryReader(new MemoryStream(state))));
    }

    private static (double Prediction, double Label)[] Pairs(int count, int seed)
    {
        // Magnitudes over twelve decades, so that the order of summation shows in the last bits.
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ =>
        {
            var scale = Math.Pow(10, random.Next(-6, 7));
            return (random.NextDouble() * scale, random.NextDouble() * scale);
        }).ToArray();
    }

    private static QualityAggregate Partial(IEnumerable<(double Prediction, double Label)> pairs)
    {
        var aggregate = new QualityAggregate();
        foreach (var (prediction, label) in pairs)
        {
            aggregate.Predictions++;
            aggregate.AddLabeled(OutputKind.REGRESSION, prediction, null, label, 1_000);
        }

        return aggregate;
    }

    private static QualityWindowResult Result(QualityAggregate aggregate) => aggregate.ToResult(Window, final: true);

    private static QualityAggregate RoundTrip(QualityAggregate aggregate)
    {
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            QualityAggregate.Codec.Write(writer, aggregate);
        }

        buffer.Position = 0;
        return QualityAggregate.ReadEmbedded(new BinaryReader(buffer));
    }

    /// <summary>A partial state as written before the regression errors were kept: running sums, lists without errors.</summary>
    private static byte[] OldFormatState(long regression, double absSum, double squaredSum)
    {
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer))
        {
            // Predictions, Labeled, ExpiredUnlabeled, Revision, Classified, Correct, Binary, TP, FP, FN, Regression.
            foreach (var value in (long[])[regression + 1, regression + 1, 0, regression + 1, 1, 1, 1, 1, 0, 0, regression])
            {
                writer.Write(value);
            }

            writer.Write(0.0);
            writer.Write(0.0);
            writer.Write(absSum);
            writer.Write(squaredSum);
            writer.Write(2);
            writer.Write(1_000L);
            writer.Write(2_000L);
            writer.Write(1);
            writer.Write(0.75);
            writer.Write(true);
        }

        return buffer.ToArray();
    }

    /// <summary>The exact sum of non-negative finite doubles (integer arithmetic in units of 2^-1074), rounded to nearest even.</summary>
    private static double ExactSum(IEnumerable<double> values)
    {
        var total = BigInteger.Zero;
        foreach (var value in values)
        {
            var bits = BitConverter.DoubleToInt64Bits(value);
            var exponent = (int)(bits >> 52) & 0x7FF;
            var mantissa = bits & ((1L << 52) - 1);
            total += exponent == 0 ? mantissa : new BigInteger(mantissa | (1L << 52)) << (exponent - 1);
        }

        var shift = Math.Max(0, (int)total.GetBitLength() - 53);
        var quotient = total >> shift;
        if (shift > 0)
        {
            var remainder = total - (quotient << shift);
            var half = BigInteger.One << (shift - 1);
            quotient += remainder > half || (remainder == half && !quotient.IsEven) ? 1 : 0;
        }

        return Math.ScaleB((double)quotient, shift - 1074);
    }

    private static void AssertWithinUlps(double expected, double actual)
    {
        var ulp = Math.BitIncrement(expected) - expected;
        Assert.True(Math.Abs(actual - expected) <= 2 * ulp, $"{actual:R} is not within 2 ulps of {expected:R}");
    }
}
