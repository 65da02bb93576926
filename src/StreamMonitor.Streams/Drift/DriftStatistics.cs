using MathNet.Numerics.Distributions;
using StreamMonitor.Contracts;

namespace StreamMonitor.Streams.Drift;

/// <summary>
/// Drift thresholds. Defaults follow Evidently's data-drift preset (docs.evidentlyai.com, "Data drift" algorithm):
/// reference n ≤ 1000: KS p-value ≤ 0.05 (numeric) / chi-square p-value ≤ 0.05 (categorical); n &gt; 1000:
/// Wasserstein distance normed by the reference std ≥ 0.1 (numeric) / Jensen-Shannon distance ≥ 0.1 (categorical);
/// dataset drift when ≥ 50 % of columns drift. PSI is reported with the industry convention &lt; 0.1 stable,
/// 0.1–0.25 moderate, &gt; 0.25 significant (not used for the decision by default). On top of that preset,
/// <see cref="FamilyAlpha"/> bounds the false-positive rate of a whole window at its own sample size (see there).
/// </summary>
public sealed record DriftThresholds
{
    /// <summary>Reference size up to which the p-value tests decide.</summary>
    public long SmallReferenceMax { get; init; } = 1_000;

    /// <summary>KS / chi-square p-value at or below which a column drifts.</summary>
    public double PValue { get; init; } = 0.05;

    /// <summary>Normed Wasserstein distance at or above which a numeric column drifts.</summary>
    public double WassersteinNormed { get; init; } = 0.1;

    /// <summary>Jensen-Shannon distance at or above which a categorical column drifts.</summary>
    public double JsDistance { get; init; } = 0.1;

    /// <summary>Share of drifted columns at or above which the dataset drifts.</summary>
    public double DatasetShare { get; init; } = 0.5;

    /// <summary>Windows with fewer values than this get statistics but never a drift decision.</summary>
    public long MinWindowCount { get; init; } = 30;

    /// <summary>
    /// Family-wise false-positive rate of one window's column decisions: the probability that a window of any size
    /// drawn from the reference population flags at least one column. A column drifts only if, besides the preset's
    /// rule, its p-value (two-sample KS for numeric columns, chi-square for categorical ones) is at most
    /// FamilyAlpha / k, k = the number of columns tested in the window (Bonferroni), so the bound holds whatever the
    /// window's size and however the columns correlate. Effect-size thresholds (normed Wasserstein, Jensen-Shannon) have
    /// a null distribution that grows as the window shrinks (about 1/√n); the test makes a small window need a larger
    /// effect. 0 turns the correction off (the preset alone: each column at <see cref="PValue"/>).
    /// </summary>
    public double FamilyAlpha { get; init; } = 0.05;

    /// <summary>The p-value at or below which a column counts as significant when <paramref name="columns"/> columns are tested.</summary>
    public double ColumnAlpha(int columns) => FamilyAlpha > 0 ? Math.Min(PValue, FamilyAlpha / Math.Max(1, columns)) : PValue;
}

/// <summary>
/// Drift statistics of one window against a reference, computed from binned, mergeable state.
/// <list type="bullet">
/// <item>PSI and Jensen-Shannon (base 2, distance = √divergence, in [0, 1]) on the profile's coarse bins of equal
/// reference mass; values below the reference min join the first bin, above the max the last. PSI replaces empty bin
/// proportions by ε = 1e-4 (Evidently's choice); JS needs no smoothing (0·log 0 = 0). Both are exact for those bins.</item>
/// <item>KS statistic: max |F_ref − F_win| over the grid edges (reference quantiles at i/1000). Exact CDFs at the
/// edges, so the reported D is a lower bound of the exact two-sample D and D_exact − D ≤ the largest single-cell
/// mass of either sample (resolution ≈ 1/1000 for the reference). p-value: asymptotic Kolmogorov distribution with
/// n_eff = n·m/(n+m) and Stephens' correction (√n_eff + 0.12 + 0.11/√n_eff)·D.</item>
/// <item>Wasserstein-1 / reference std: ∫|F_ref − F_win| with both CDFs linear inside each cell (cells outside the
/// reference range end at the window's min/max); |error| ≤ Σ_cells width·(ref cell mass + window cell mass) / std.</item>
/// <item>Chi-square goodness of fit of the window's known categories against the reference frequencies
/// (df = k − 1, MathNet's chi-squared CDF); unseen categories are reported by their own rate.</item>
/// </list>
/// Null/NaN rate, out-of-range rate and unseen-category rate are separate signals: nulls never enter a distribution.
/// </summary>
public static class DriftStatistics
{
    /// <summary>Smoothing of empty proportions in PSI.</summary>
    public const double PsiEpsilon = 1e-4;

    /// <summary>
    /// Statistics of a numeric column (or the score, with <paramref name="kind"/> PREDICTION); <paramref name="columns"/>:
    /// how many columns the window tests (the Bonferroni family of <see cref="DriftThresholds.FamilyAlpha"/>).
    /// </summary>
    public static FeatureDrift Numeric(NumericProfile reference, NumericWindow window, DriftThresholds thresholds, FeatureKind kind = FeatureKind.NUMERIC, int columns = 1)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(window);
        ArgumentNullException.ThrowIfNull(thresholds);
        var total = window.Count + window.Nulls;
        var result = new FeatureDrift
        {
            Feature = reference.Name,
            Kind = kind,
            Count = total,
            NullRate = total == 0 ? 0 : (double)window.Nulls / total,
        };
        var smallReference = reference.Count <= thresholds.SmallReferenceMax;
        var alpha = thresholds.ColumnAlpha(columns);
        result.DriftMethod = smallReference ? "ks" : "wasserstein";
        result.Threshold = smallReference ? alpha : thresholds.WassersteinNormed;
        if (window.Count == 0)
        {
            return result;
        }

        var cells = window.CellCounts;
        result.OutOfRangeRate = (double)(cells[0] + cells[^1]) / window.Count;
        var refCells = new long[cells.Length];
        reference.GridCounts.CopyTo(refCells, 1);

        var (refBins, winBins) = (CoarseBins(reference, refCells), CoarseBins(reference, cells));
        result.Psi = Psi(refBins, reference.Count, winBins, window.Count);
        result.JsDistance = JsDistance(refBins, reference.Count, winBins, window.Count);
        var d = KsStatistic(refCells, reference.Count, cells, window.Count);
        result.KsStatistic = d;
        result.KsPValue = KolmogorovPValue(d, reference.Count, window.Count);
        if (reference.Std > 0)
        {
            result.WassersteinNormed = Wasserstein(reference, refCells, cells, window) / reference.Std;
        }

        result.DriftScore = smallReference ? result.KsPValue.Value : result.WassersteinNormed ?? 0;
        result.Drifted = window.Count >= thresholds.MinWindowCount && (smallReference
            ? result.KsPValue <= alpha
            : result.WassersteinNormed >= thresholds.WassersteinNormed && (thresholds.FamilyAlpha <= 0 || result.KsPValue <= alpha));
        return result;
    }

    /// <summary>Statistics of a categorical column; <paramref name="columns"/> as in <see cref="Numeric"/>.</summary>
    public static FeatureDrift Categorical(CategoricalProfile reference, CategoricalWindow window, DriftThresholds thresholds, int columns = 1)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(window);
        ArgumentNullException.ThrowIfNull(thresholds);
        var total = window.Count + window.Nulls;
        var smallReference = reference.Count <= thresholds.SmallReferenceMax;
        var result = new FeatureDrift
        {
            Feature = reference.Name,
            Kind = FeatureKind.CATEGORICAL,
            Count = total,
            NullRate = total == 0 ? 0 : (double)window.Nulls / total,
            DriftMethod = smallReference ? "chisquare" : "jensenshannon",
            Threshold = smallReference ? thresholds.ColumnAlpha(columns) : thresholds.JsDistance,
        };
        if (window.Count == 0 || reference.Count == 0)
        {
            return result;
        }

        var categories = reference.Frequencies.Keys.Union(window.Counts.Keys, StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var refCounts = categories.Select(c => reference.Frequencies.GetValueOrDefault(c)).ToArray();
        var winCounts = categories.Select(c => window.Counts.GetValueOrDefault(c)).ToArray();
        var unseen = window.Counts.Where(c => !reference.Frequencies.ContainsKey(c.Key)).Sum(c => c.Value);
        result.UnseenCategoryRate = (double)unseen / window.Count;
        result.Psi = Psi(refCounts, reference.Count, winCounts, window.Count);
        result.JsDistance = JsDistance(refCounts, reference.Count, winCounts, window.Count);

        var known = window.Count - unseen;
        if (reference.Frequencies.Count >= 2 && known > 0)
        {
            double chi = 0;
            foreach (var (category, refCount) in reference.Frequencies)
            {
                var expected = (double)known * refCount / reference.Count;
                var observed = window.Counts.GetValueOrDefault(category);
                chi += (observed - expected) * (observed - expected) / expected;
            }

            result.ChiSquare = chi;
            result.ChiSquarePValue = 1 - ChiSquared.CDF(reference.Frequencies.Count - 1, chi);
        }

        result.DriftScore = smallReference ? result.ChiSquarePValue ?? 1 : result.JsDistance.Value;
        var alpha = thresholds.ColumnAlpha(columns);
        result.Drifted = window.Count >= thresholds.MinWindowCount && (smallReference
            ? result.ChiSquarePValue <= alpha
            : result.JsDistance >= thresholds.JsDistance && (thresholds.FamilyAlpha <= 0 || (result.ChiSquarePValue ?? 1) <= alpha));
        return result;
    }

    /// <summary>Per-window result over all columns: dataset drift when the drifted share reaches the threshold.</summary>
    public static (List<FeatureDrift> Features, double DriftedShare, bool DatasetDrift) Window(ReferenceProfile profile, DriftAggregate window, DriftThresholds thresholds)
    {
        ArgumentNullException.ThrowIfNull(profile);
        ArgumentNullException.ThrowIfNull(window);
        var features = new List<FeatureDrift>();
        var tested = profile.Numeric.Count + profile.Categorical.Count + (profile.Score is not null && window.Score is not null ? 1 : 0);
        for (var i = 0; i < profile.Numeric.Count; i++)
        {
            features.Add(Numeric(profile.Numeric[i], window.Numeric[i], thresholds, FeatureKind.NUMERIC, tested));
        }

        for (var i = 0; i < profile.Categorical.Count; i++)
        {
            features.Add(Categorical(profile.Categorical[i], window.Categorical[i], thresholds, tested));
        }

        var columns = features.Count;
        var share = columns == 0 ? 0 : (double)features.Count(f => f.Drifted) / columns;
        if (profile.Score is { } score && window.Score is { } scoreWindow)
        {
            // Score drift is reported, but it is an output, not a column of the dataset share.
            features.Add(Numeric(score, scoreWindow, thresholds, FeatureKind.PREDICTION, tested));
        }

        return (features, share, columns > 0 && share >= thresholds.DatasetShare);
    }

    /// <summary>Sums window-layout cells into the profile's coarse bins (outer cells join the first and last bin).</summary>
    public static long[] CoarseBins(NumericProfile reference, long[] windowLayoutCells)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(windowLayoutCells);
        var bins = new long[reference.BinEdges.Length + 1];
        var bin = 0;
        for (var cell = 0; cell < windowLayoutCells.Length; cell++)
        {
            // Window cell c (1..K) is grid cell c−1; a bin edge e starts grid cell e.
            while (bin < reference.BinEdges.Length && cell >= 1 && cell - 1 >= reference.BinEdges[bin])
            {
                bin++;
            }

            bins[bin] += windowLayoutCells[cell];
        }

        return bins;
    }

    /// <summary>Population stability index with ε-smoothed proportions.</summary>
    public static double Psi(long[] reference, long referenceTotal, long[] window, long windowTotal)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(window);
        double psi = 0;
        for (var i = 0; i < reference.Length; i++)
        {
            var r = Math.Max((double)reference[i] / referenceTotal, PsiEpsilon);
            var w = Math.Max((double)window[i] / windowTotal, PsiEpsilon);
            psi += (w - r) * Math.Log(w / r);
        }

        return psi;
    }

    /// <summary>Jensen-Shannon distance, base 2 (0 identical, 1 disjoint).</summary>
    public static double JsDistance(long[] reference, long referenceTotal, long[] window, long windowTotal)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(window);
        double divergence = 0;
        for (var i = 0; i < reference.Length; i++)
        {
            var p = (double)reference[i] / referenceTotal;
            var q = (double)window[i] / windowTotal;
            var m = (p + q) / 2;
            if (p > 0)
            {
                divergence += 0.5 * p * Math.Log2(p / m);
            }

            if (q > 0)
            {
                divergence += 0.5 * q * Math.Log2(q / m);
            }
        }

        return Math.Sqrt(Math.Clamp(divergence, 0, 1));
    }

    /// <summary>Max CDF difference at the cell boundaries of two samples in the same cell layout.</summary>
    public static double KsStatistic(long[] referenceCells, long referenceTotal, long[] windowCells, long windowTotal)
    {
        ArgumentNullException.ThrowIfNull(referenceCells);
        ArgumentNullException.ThrowIfNull(windowCells);
        long r = 0;
        long w = 0;
        double d = 0;
        for (var i = 0; i < referenceCells.Length; i++)
        {
            r += referenceCells[i];
            w += windowCells[i];
            d = Math.Max(d, Math.Abs(((double)r / referenceTotal) - ((double)w / windowTotal)));
        }

        return d;
    }

    /// <summary>Asymptotic two-sample KS p-value (Kolmogorov distribution, Stephens' small-sample correction).</summary>
    public static double KolmogorovPValue(double d, long n, long m)
    {
        if (n <= 0 || m <= 0)
        {
            return 1;
        }

        var effective = Math.Sqrt((double)n * m / (n + m));
        var lambda = (effective + 0.12 + (0.11 / effective)) * d;
        return KolmogorovSurvival(lambda);
    }

    /// <summary>Q_KS(λ) = P(K &gt; λ) of the Kolmogorov distribution.</summary>
    public static double KolmogorovSurvival(double lambda)
    {
        if (lambda <= 0)
        {
            return 1;
        }

        if (lambda < 1.18)
        {
            // P(K ≤ λ) = √(2π)/λ Σ exp(−(2j−1)²π²/(8λ²)): fast convergence for small λ.
            double sum = 0;
            for (var j = 1; j <= 100; j++)
            {
                var term = Math.Exp(-((2 * j) - 1) * ((2 * j) - 1) * Math.PI * Math.PI / (8 * lambda * lambda));
                sum += term;
                if (term < 1e-17 * sum)
                {
                    break;
                }
            }

            return Math.Clamp(1 - (Math.Sqrt(2 * Math.PI) / lambda * sum), 0, 1);
        }

        double q = 0;
        for (var j = 1; j <= 100; j++)
        {
            var term = Math.Exp(-2.0 * j * j * lambda * lambda);
            q += (j % 2 == 1 ? 2 : -2) * term;
            if (term < 1e-17)
            {
                break;
            }
        }

        return Math.Clamp(q, 0, 1);
    }

    /// <summary>∫|F_ref − F_win| dx with CDFs linear inside cells.</summary>
    private static double Wasserstein(NumericProfile reference, long[] refCells, long[] winCells, NumericWindow window)
    {
        var edges = CellEdges(reference, window);
        double area = 0;
        double fr = 0;
        double fw = 0;
        for (var cell = 0; cell < refCells.Length; cell++)
        {
            var width = edges[cell + 1] - edges[cell];
            var d0 = fr - fw;
            fr += (double)refCells[cell] / reference.Count;
            fw += (double)winCells[cell] / window.Count;
            var d1 = fr - fw;
            if (width <= 0)
            {
                continue;
            }

            area += (d0 >= 0) == (d1 >= 0)
                ? width * (Math.Abs(d0) + Math.Abs(d1)) / 2
                : width * ((d0 * d0) + (d1 * d1)) / (2 * (Math.Abs(d0) + Math.Abs(d1)));
        }

        return area;
    }

    /// <summary>Edges of the window-layout cells: [winMin, grid…, winMax] (outer cells empty when not needed).</summary>
    public static double[] CellEdges(NumericProfile reference, NumericWindow window)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(window);
        var edges = new double[reference.Grid.Length + 2];
        edges[0] = Math.Min(reference.Grid[0], window.Min);
        reference.Grid.CopyTo(edges, 1);
        edges[^1] = Math.Max(reference.Grid[^1], window.Max);
        return edges;
    }
}
