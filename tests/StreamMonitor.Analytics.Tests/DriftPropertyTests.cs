using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using StreamMonitor.Analytics.Drift;
using StreamMonitor.Testing;

namespace StreamMonitor.Analytics.Tests;

/// <summary>A small data set with ties: reference and window values, the grid resolution, the discrete threshold and a split of the window.</summary>
public sealed record DriftCase(double[] Reference, double?[] Window, int Grid, int DiscreteMaxValues, bool[] Split)
{
    /// <inheritdoc />
    public override string ToString() =>
        $"G={Grid} discreteMax={DiscreteMaxValues} reference=[{string.Join(",", Reference)}] window=[{string.Join(",", Window.Select(v => v?.ToString("R", System.Globalization.CultureInfo.InvariantCulture) ?? "null"))}]";
}

/// <summary>Generators of <see cref="DriftCase"/>: few distinct values (many ties), some spread ones, values outside the reference.</summary>
public static class DriftArbitraries
{
    private static readonly Gen<double> Value = Gen.Frequency(
        (6, Gen.Choose(-3, 3).Select(i => (double)i)),
        (2, Gen.Choose(-8, 8).Select(i => i / 2.0)),
        (2, Gen.Choose(-10_000, 10_000).Select(i => i / 997.0)));

    /// <summary>The arbitrary FsCheck uses for <see cref="DriftCase"/> parameters.</summary>
    public static Arbitrary<DriftCase> Cases() => Arb.From(
        from referenceLength in Gen.Choose(1, 80)
        from reference in Gen.ArrayOf(Value, referenceLength)
        from windowLength in Gen.Choose(1, 80)
        from window in Gen.ArrayOf(Gen.Frequency((12, Value.Select(v => (double?)v)), (1, Gen.Constant<double?>(null))), windowLength)
        from grid in Gen.Choose(2, 12)
        from discreteMax in Gen.Elements(0, 3, 20)
        from split in Gen.ArrayOf(Gen.Elements(false, true), windowLength)
        select new DriftCase(reference, window, grid, discreteMax, split));
}

/// <summary>
/// Property tests of the profile builder and the numeric drift statistics on arbitrary small data sets with ties:
/// the profile keeps exact counts and the stated cell resolution, every statistic stays within the bound it states
/// against the exact statistics of the raw values, and merging split windows changes nothing.
/// </summary>
public sealed class DriftPropertyTests
{
    private static NumericProfile Profile(DriftCase c) => NumericProfile.Build("x", c.Reference, c.Grid, bins: 2, c.DiscreteMaxValues);

    private static NumericWindow WindowOf(NumericProfile profile, IEnumerable<double?> values)
    {
        var window = new NumericWindow(profile.Cells + 2);
        foreach (var value in values)
        {
            window.Add(profile, value);
        }

        return window;
    }

    [Property(Arbitrary = [typeof(DriftArbitraries)], MaxTest = 300)]
    public void The_profile_keeps_exact_counts_in_cells_that_merge_no_more_than_the_stated_resolution(DriftCase c)
    {
        var profile = Profile(c);
        var roundTrip = ReferenceProfile.FromJson(new ReferenceProfile { Model = "m", Numeric = [profile] }.ToJson()).Numeric[0];
        Assert.Equal(profile.Grid, roundTrip.Grid);
        Assert.Equal(profile.GridCounts, roundTrip.GridCounts);
        Assert.Equal(profile.Discrete, roundTrip.Discrete);

        var n = c.Reference.Length;
        var frequencies = c.Reference.GroupBy(v => v).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(n, profile.Count);
        Assert.Equal(frequencies.Count <= c.DiscreteMaxValues, profile.Discrete);
        for (var cell = 0; cell < profile.Cells; cell++)
        {
            // The cell's values by its interval, independently of WindowCellOf: [Grid[c], Grid[c+1]), the last closed.
            var (low, high, last) = (profile.Grid[cell], profile.Grid[cell + 1], cell == profile.Cells - 1);
            var inCell = c.Reference.Where(v => v >= low && (v < high || (last && v <= high))).ToArray();
            Assert.Equal(inCell.Length, profile.GridCounts[cell]);
            Assert.All(inCell, v => Assert.Equal(cell + 1, profile.WindowCellOf(v)));
            if (profile.IsPointCell(cell))
            {
                Assert.True(inCell.Distinct().Count() <= 1);
            }
            else
            {
                // Several values share a cell only up to 2/G of the mass (discrete: none, only gaps).
                Assert.True(profile.Discrete ? inCell.Length == 0 : inCell.Length * c.Grid <= 2 * n, $"cell {cell} holds {inCell.Length} of {n}");
            }
        }

        foreach (var (value, count) in frequencies)
        {
            // Every value of a discrete column, and every value heavier than 1/G, has a point cell of its own.
            if (profile.Discrete || count * c.Grid > n)
            {
                var cell = profile.WindowCellOf(value) - 1;
                Assert.True(profile.IsPointCell(cell), $"value {value}");
                Assert.Equal(count, profile.GridCounts[cell]);
            }
        }
    }

    [Property(Arbitrary = [typeof(DriftArbitraries)], MaxTest = 300)]
    public void Every_statistic_stays_within_the_bound_it_states(DriftCase c)
    {
        var profile = Profile(c);
        var values = c.Window.Where(v => v is not null).Select(v => v!.Value).ToArray();
        var result = DriftStatistics.Numeric(profile, WindowOf(profile, c.Window), new DriftThresholds());
        if (values.Length == 0)
        {
            Assert.Null(result.KsStatistic);
            return;
        }

        var exactD = ExactStatistics.KolmogorovSmirnov(c.Reference, values);
        Assert.InRange(exactD - result.KsStatistic!.Value, -1e-12, result.KsResolution!.Value + 1e-12);
        Assert.InRange(result.KsPValue!.Value, DriftStatistics.PValueFloor, 1);
        if (profile.Std > 0)
        {
            var exactW = ExactStatistics.Wasserstein(c.Reference, values) / profile.Std;
            Assert.InRange(Math.Abs(exactW - result.WassersteinNormed!.Value), 0, result.WassersteinResolution!.Value + (1e-9 * Math.Max(1, exactW)));
        }

        if (profile.Discrete)
        {
            // A step CDF is exact on its support, and these windows hold fewer unseen values than are tracked.
            Assert.Equal(0, result.KsResolution);
            Assert.InRange(result.WassersteinResolution ?? 0, 0, 1e-9);
            Assert.Equal((double)values.Count(v => !c.Reference.Contains(v)) / values.Length, result.UnseenCategoryRate!.Value, 14);
        }
    }

    [Property(Arbitrary = [typeof(DriftArbitraries)], MaxTest = 200)]
    public void Merging_the_encoded_parts_of_a_split_window_gives_the_statistics_of_the_whole(DriftCase c)
    {
        var profile = Profile(c);
        var whole = WindowOf(profile, c.Window);
        var parts = new[] { WindowOf(profile, c.Window.Where((_, i) => c.Split[i])), WindowOf(profile, c.Window.Where((_, i) => !c.Split[i])) };
        var merged = new NumericWindow(profile.Cells + 2);
        foreach (var part in parts.AsEnumerable().Reverse())
        {
            using var buffer = new MemoryStream();
            using (var writer = new BinaryWriter(buffer, System.Text.Encoding.UTF8, leaveOpen: true))
            {
                NumericWindow.Codec.Write(writer, part);
            }

            buffer.Position = 0;
            using var reader = new BinaryReader(buffer);
            merged.MergeFrom(NumericWindow.Codec.Read(reader, NumericWindow.Codec.Version));
        }

        Assert.Equal(whole.CellCounts, merged.CellCounts);
        Assert.Equal(whole.OutsideValues, merged.OutsideValues);
        Assert.Equal((whole.Count, whole.Nulls, whole.Min, whole.Max), (merged.Count, merged.Nulls, merged.Min, merged.Max));
        var a = DriftStatistics.Numeric(profile, whole, new DriftThresholds());
        var b = DriftStatistics.Numeric(profile, merged, new DriftThresholds());
        Assert.Equal(
            (a.KsStatistic, a.KsResolution, a.KsPValue, a.WassersteinNormed, a.WassersteinResolution, a.Psi, a.JsDistance, a.ChiSquare, a.UnseenCategoryRate, a.Drifted),
            (b.KsStatistic, b.KsResolution, b.KsPValue, b.WassersteinNormed, b.WassersteinResolution, b.Psi, b.JsDistance, b.ChiSquare, b.UnseenCategoryRate, b.Drifted));
    }
}
