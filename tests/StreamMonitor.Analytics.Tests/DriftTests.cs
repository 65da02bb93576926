using MathNet.Numerics.Distributions;
using StreamMonitor.Analytics.Drift;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.State;
using StreamMonitor.Testing;

namespace StreamMonitor.Analytics.Tests;

public class DriftTests
{
    private static double[] NormalSample(int n, int seed, double mean = 0, double std = 1)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => mean + (std * Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()))).ToArray();
    }

    private static NumericWindow WindowOf(NumericProfile profile, IEnumerable<double?> values)
    {
        var window = new NumericWindow(profile.Cells + 2);
        foreach (var value in values)
        {
            window.Add(profile, value);
        }

        return window;
    }

    /// <summary>Raw values binned into the window-layout cells independently of the implementation.</summary>
    private static double[] CellMass(NumericProfile profile, double[] values)
    {
        var mass = new double[profile.Cells + 2];
        foreach (var v in values)
        {
            var cell = v < profile.Grid[0] ? 0 : v > profile.Grid[^1] ? profile.Cells + 1 : Math.Min(profile.Cells, profile.Grid.Count(g => g <= v));
            mass[cell] += 1.0 / values.Length;
        }

        return mass;
    }

    public static TheoryData<int, int, double, double> Cases => new()
    {
        { 500, 300, 0, 1 },
        { 500, 2_000, 0.3, 1.2 },
        { 5_000, 1_000, 0, 1 },
        { 5_000, 3_000, 1.0, 0.5 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Numeric_statistics_equal_independent_computations_on_raw_values_within_the_stated_resolution(int referenceSize, int windowSize, double shift, double scale)
    {
        var referenceValues = NormalSample(referenceSize, 1);
        var windowValues = NormalSample(windowSize, 2, shift, scale);
        var profile = NumericProfile.Build("x", referenceValues);
        var window = WindowOf(profile, windowValues.Select(v => (double?)v));
        var result = DriftStatistics.Numeric(profile, window, new DriftThresholds());

        // KS: a lower bound of the exact D, within the largest cell mass of either sample.
        var refMass = CellMass(profile, referenceValues);
        var winMass = CellMass(profile, windowValues);
        var exactKs = ExactStatistics.KolmogorovSmirnov(referenceValues, windowValues);
        var resolution = refMass.Concat(winMass).Max();
        Assert.InRange(exactKs - result.KsStatistic!.Value, -1e-12, resolution + 1e-12);

        // Wasserstein normed: within Σ width·(ref mass + window mass) / std.
        var edges = new List<double> { Math.Min(profile.Grid[0], windowValues.Min()) };
        edges.AddRange(profile.Grid);
        edges.Add(Math.Max(profile.Grid[^1], windowValues.Max()));
        var bound = Enumerable.Range(0, refMass.Length).Sum(c => (edges[c + 1] - edges[c]) * (refMass[c] + winMass[c])) / profile.Std;
        var exactW = ExactStatistics.Wasserstein(referenceValues, windowValues) / profile.Std;
        Assert.InRange(Math.Abs(result.WassersteinNormed!.Value - exactW), 0, bound);

        // PSI and JS on the coarse bins: binned here from raw values by the bin edge values.
        var cuts = profile.BinEdges.Select(e => profile.Grid[e]).ToArray();
        double[] Bins(double[] values) => values.GroupBy(v => cuts.Count(c => c <= v)).Aggregate(new double[cuts.Length + 1], (acc, g) => { acc[g.Key] = (double)g.Count() / values.Length; return acc; });
        var p = Bins(referenceValues);
        var q = Bins(windowValues);
        var psi = p.Zip(q).Sum(t => (Math.Max(t.Second, 1e-4) - Math.Max(t.First, 1e-4)) * Math.Log(Math.Max(t.Second, 1e-4) / Math.Max(t.First, 1e-4)));
        var js = Math.Sqrt(p.Zip(q).Sum(t =>
        {
            var m = (t.First + t.Second) / 2;
            return (t.First > 0 ? 0.5 * t.First * Math.Log2(t.First / m) : 0) + (t.Second > 0 ? 0.5 * t.Second * Math.Log2(t.Second / m) : 0);
        }));
        Assert.Equal(psi, result.Psi!.Value, 9);
        Assert.Equal(js, result.JsDistance!.Value, 9);
        Assert.Equal(10, p.Length);
        Assert.All(p, share => Assert.InRange(share, 0.09, 0.11));

        var outside = windowValues.Count(v => v < referenceValues.Min() || v > referenceValues.Max());
        Assert.Equal((double)outside / windowSize, result.OutOfRangeRate!.Value, 12);
    }

    [Theory]
    [InlineData(0.5, 0.96394)]
    [InlineData(1.0, 0.26999)]
    [InlineData(1.36, 0.04946)]
    [InlineData(1.63, 0.00976)]
    [InlineData(2.0, 0.00067)]
    public void Kolmogorov_survival_matches_tabulated_values(double lambda, double expected) =>
        Assert.Equal(expected, DriftStatistics.KolmogorovSurvival(lambda), 4);

    [Fact]
    public void Nulls_are_their_own_signal_and_never_enter_the_distribution()
    {
        var profile = NumericProfile.Build("x", NormalSample(800, 3));
        var values = NormalSample(400, 4).Select(v => (double?)v).Concat(Enumerable.Repeat<double?>(null, 100)).Append(double.NaN);
        var result = DriftStatistics.Numeric(profile, WindowOf(profile, values), new DriftThresholds());
        Assert.Equal(101.0 / 501, result.NullRate, 12);
        Assert.Equal(501, result.Count);
        Assert.False(result.Drifted);
    }

    [Fact]
    public void Categorical_chi_square_js_and_unseen_rate_equal_direct_computations()
    {
        var random = new Random(5);
        string[] categories = ["a", "b", "c", "d"];
        double[] weights = [0.4, 0.3, 0.2, 0.1];
        string Draw(double[] w)
        {
            var u = random.NextDouble();
            for (var i = 0; i < w.Length; i++)
            {
                u -= w[i];
                if (u < 0)
                {
                    return categories[i];
                }
            }

            return categories[^1];
        }

        var reference = Enumerable.Range(0, 900).Select(_ => Draw(weights)).ToList();
        var window = Enumerable.Range(0, 600).Select(_ => Draw([0.25, 0.25, 0.25, 0.25])).Concat(Enumerable.Repeat("zzz", 20)).ToList();
        var profile = CategoricalProfile.Build("c", reference);
        var state = new CategoricalWindow();
        foreach (var value in window)
        {
            state.Add(profile, value);
        }

        var result = DriftStatistics.Categorical(profile, state, new DriftThresholds());
        var known = window.Where(v => v != "zzz").ToList();
        var chi = categories.Sum(c =>
        {
            var expected = known.Count * (double)reference.Count(r => r == c) / reference.Count;
            var observed = known.Count(k => k == c);
            return (observed - expected) * (observed - expected) / expected;
        });
        Assert.Equal(chi, result.ChiSquare!.Value, 9);
        Assert.Equal(1 - ChiSquared.CDF(3, chi), result.ChiSquarePValue!.Value, 12);
        Assert.Equal(20.0 / 620, result.UnseenCategoryRate!.Value, 12);
        Assert.Equal("chisquare", result.DriftMethod);
        Assert.True(result.Drifted);
    }

    [Fact]
    public void A_known_shift_is_detected_and_no_shift_gives_no_detection_at_default_thresholds()
    {
        foreach (var referenceSize in new[] { 600, 5_000 })
        {
            var references = Enumerable.Range(0, 10).Select(f => NormalSample(referenceSize, 100 + f, mean: f, std: 1 + (f * 0.1))).ToArray();
            var profile = new ReferenceProfile { Model = "m", Numeric = references.Select((r, f) => NumericProfile.Build("f" + f, r)).ToList() };

            DriftAggregate Window(int seed, int shifted, double by)
            {
                var aggregate = new DriftAggregate(profile);
                for (var f = 0; f < 10; f++)
                {
                    var sigma = 1 + (f * 0.1);
                    foreach (var v in NormalSample(2_000, seed + f, mean: f + (f < shifted ? by * sigma : 0), std: sigma))
                    {
                        aggregate.Numeric[f].Add(profile.Numeric[f], v);
                    }
                }

                return aggregate;
            }

            var (same, sameShare, sameDrift) = DriftStatistics.Window(profile, Window(1_000, 0, 0), new DriftThresholds());
            Assert.False(sameDrift);
            Assert.True(sameShare < 0.5);
            Assert.True(same.Count(f => f.Drifted) <= 1, $"n={referenceSize}: {same.Count(f => f.Drifted)} false alarms");

            var (shiftedFeatures, share, drift) = DriftStatistics.Window(profile, Window(2_000, 6, 0.5), new DriftThresholds());
            Assert.True(drift, $"n={referenceSize}");
            Assert.InRange(share, 0.6, 0.7); // the 6 shifted columns, at most one false alarm among the other 4
            Assert.All(shiftedFeatures.Take(6), f => Assert.True(f.Drifted, f.Feature));
            Assert.All(shiftedFeatures.Take(6), f => Assert.True(f.Psi > 0.1, $"{f.Feature} psi {f.Psi}"));
        }
    }

    [Fact]
    public void Merged_partition_aggregates_equal_one_aggregate_over_all_values()
    {
        var profile = new ReferenceProfile
        {
            Numeric = [NumericProfile.Build("x", NormalSample(3_000, 9))],
            Categorical = [CategoricalProfile.Build("c", ["a", "b", "b", "c"])],
        };
        var values = NormalSample(10_000, 10);
        var whole = new DriftAggregate(profile);
        var parts = Enumerable.Range(0, 4).Select(_ => new DriftAggregate(profile)).ToArray();
        for (var i = 0; i < values.Length; i++)
        {
            foreach (var target in new[] { whole, parts[i % 4] })
            {
                target.Count++;
                target.Numeric[0].Add(profile.Numeric[0], i % 97 == 0 ? null : values[i]);
                target.Categorical[0].Add(profile.Categorical[0], (i % 5) switch { 0 => "a", 1 => "b", 2 => "new" + (i % 3), 3 => null, _ => "c" });
            }
        }

        var merged = new DriftAggregate(profile);
        foreach (var part in parts)
        {
            using var buffer = new MemoryStream();
            using (var writer = new BinaryWriter(buffer, System.Text.Encoding.UTF8, leaveOpen: true))
            {
                DriftAggregate.Codec.WriteVersioned(writer, part);
            }

            buffer.Position = 0;
            using var reader = new BinaryReader(buffer);
            merged.MergeFrom(DriftAggregate.Codec.ReadVersioned(reader));
        }

        Assert.Equal(whole.Numeric[0].CellCounts, merged.Numeric[0].CellCounts);
        Assert.Equal((whole.Numeric[0].Nulls, whole.Numeric[0].Min, whole.Numeric[0].Max), (merged.Numeric[0].Nulls, merged.Numeric[0].Min, merged.Numeric[0].Max));
        Assert.Equal(whole.Categorical[0].Counts, merged.Categorical[0].Counts);
        Assert.Equal(whole.Count, merged.Count);
        var a = DriftStatistics.Window(profile, whole, new DriftThresholds()).Features;
        var b = DriftStatistics.Window(profile, merged, new DriftThresholds()).Features;
        Assert.Equal(a.Select(f => (f.KsStatistic, f.Psi, f.JsDistance, f.WassersteinNormed, f.ChiSquare)), b.Select(f => (f.KsStatistic, f.Psi, f.JsDistance, f.WassersteinNormed, f.ChiSquare)));
    }

    [Fact]
    public void Profile_of_the_real_data_set_has_consistent_grids_and_equal_mass_bins()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "breast_cancer_wisconsin.csv");
        var profile = ProfileBuilder.FromCsv(path, "cancer", ["label"]);
        Assert.Equal(30, profile.Numeric.Count);
        Assert.Equal(569, profile.Rows);
        var roundTrip = ReferenceProfile.FromJson(profile.ToJson());
        Assert.Equal(profile.Id, roundTrip.Id);
        foreach (var feature in roundTrip.Numeric)
        {
            Assert.Equal(569, feature.GridCounts.Sum());
            var window = new NumericWindow(feature.Cells + 2);
            var bins = DriftStatistics.CoarseBins(feature, [0, .. feature.GridCounts, 0]);
            Assert.Equal(10, bins.Length);
            Assert.Equal(569, bins.Sum());
            Assert.True(bins.Max() <= 2 * 57 + 20, $"{feature.Name}: {string.Join(",", bins)}");
            Assert.Equal(0, window.Count);
        }
    }
}
