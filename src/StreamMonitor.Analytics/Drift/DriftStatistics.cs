using MathNet.Numerics;
using StreamMonitor.Contracts;

namespace StreamMonitor.Analytics.Drift;

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
/// Drift statistics of one window against a reference, computed from binned, mergeable state. Every numeric result
/// states the resolution it had in this window (<see cref="FeatureDrift.KsResolution"/>,
/// <see cref="FeatureDrift.WassersteinResolution"/>); see docs/aggregator.md for the bounds per column kind.
/// <list type="bullet">
/// <item>PSI and Jensen-Shannon (base 2, distance = √divergence, in [0, 1]): continuous columns on the profile's coarse
/// bins of equal reference mass (values below the reference min join the first bin, above the max the last); discrete
/// columns on their values plus one bin for the values outside the reference set. PSI replaces empty proportions by
/// ε = 1e-4 (Evidently's choice); JS needs no smoothing (0·log 0 = 0). Both are exact for those bins.</item>
/// <item>KS statistic: max |F_ref − F_win| over the cell edges, where both CDFs are exact: a lower bound of the exact
/// two-sample D. Inside a cell holding reference mass r spread over several values and window mass w, |F_ref − F_win|
/// can exceed its value at the cell's edges by at most min(r, w), and the exact bound from the edge values is what
/// <see cref="FeatureDrift.KsResolution"/> reports. Point cells, gaps and the outer cells add nothing: D is exact for
/// discrete columns. p-value: asymptotic Kolmogorov distribution with n_eff = n·m/(n+m) and Stephens' correction
/// (√n_eff + 0.12 + 0.11/√n_eff)·D (conservative with ties).</item>
/// <item>Wasserstein-1 / reference std: ∫|F_ref − F_win|, exact where the positions of the values are known (point
/// cells; the tracked window values outside the reference: off its values when discrete, below or above its range when
/// continuous), with the unknown part of each cell spread linearly; |error| ≤ Σ_cells width·max(spread reference
/// mass, untracked window mass) / std.</item>
/// <item>Chi-square goodness of fit of the window's known categories (values of a discrete column) against the
/// reference frequencies, df = k − 1, p-value from the regularized upper incomplete gamma function; unseen categories
/// (values) are reported by their own rate.</item>
/// </list>
/// p-values below <see cref="PValueFloor"/> are reported as the floor with a flag. Null/NaN rate, out-of-range rate
/// and unseen-category rate are separate signals: nulls never enter a distribution.
/// </summary>
public static class DriftStatistics
{
    /// <summary>Smoothing of empty proportions in PSI.</summary>
    public const double PsiEpsilon = 1e-4;

    /// <summary>Smallest reported p-value: smaller ones (down to an underflow to 0) are reported as it, flagged.</summary>
    public const double PValueFloor = 1e-300;

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
            Discrete = reference.Discrete,
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

        if (reference.Discrete)
        {
            var (refValues, winValues) = (ValueBins(reference, refCells), ValueBins(reference, cells));
            result.UnseenCategoryRate = (double)winValues[^1] / window.Count;
            result.Psi = Psi(refValues, reference.Count, winValues, window.Count);
            result.JsDistance = JsDistance(refValues, reference.Count, winValues, window.Count);
            if (ChiSquareGoodnessOfFit(refValues.AsSpan(0, refValues.Length - 1), winValues.AsSpan(0, winValues.Length - 1)) is { } chi)
            {
                (result.ChiSquare, result.ChiSquarePValue, result.ChiSquarePValueFloored) = chi;
            }
        }
        else
        {
            var (refBins, winBins) = (CoarseBins(reference, refCells), CoarseBins(reference, cells));
            result.Psi = Psi(refBins, reference.Count, winBins, window.Count);
            result.JsDistance = JsDistance(refBins, reference.Count, winBins, window.Count);
        }

        var (d, upper) = KolmogorovSmirnov(reference, refCells, cells, window.Count);
        result.KsStatistic = d;
        result.KsResolution = upper - d;
        (result.KsPValue, result.KsPValueFloored) = Floored(KolmogorovPValue(d, reference.Count, window.Count));
        if (reference.Std > 0)
        {
            var (area, bound) = Wasserstein(reference, refCells, window);
            result.WassersteinNormed = area / reference.Std;
            result.WassersteinResolution = bound / reference.Std;
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

        var known = reference.Frequencies.Keys.ToArray();
        if (ChiSquareGoodnessOfFit(known.Select(c => reference.Frequencies[c]).ToArray(), known.Select(c => window.Counts.GetValueOrDefault(c)).ToArray()) is { } chi)
        {
            (result.ChiSquare, result.ChiSquarePValue, result.ChiSquarePValueFloored) = chi;
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

    /// <summary>
    /// Discrete columns: window-layout cells as one bin per reference value (point cell, in order) and a last bin of
    /// the values outside the reference set (below, between and above the values).
    /// </summary>
    public static long[] ValueBins(NumericProfile reference, long[] windowLayoutCells)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(windowLayoutCells);
        var bins = new List<long>();
        long outside = 0;
        for (var cell = 0; cell < windowLayoutCells.Length; cell++)
        {
            if (reference.IsUnseenCell(cell))
            {
                outside += windowLayoutCells[cell];
            }
            else
            {
                bins.Add(windowLayoutCells[cell]);
            }
        }

        bins.Add(outside);
        return [.. bins];
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

    /// <summary>
    /// Chi-square goodness of fit of the window's counts against the reference counts of the same categories (those
    /// with a reference count); null when fewer than two categories or no window value can be tested.
    /// </summary>
    public static (double ChiSquare, double PValue, bool Floored)? ChiSquareGoodnessOfFit(ReadOnlySpan<long> reference, ReadOnlySpan<long> window)
    {
        long referenceTotal = 0;
        long known = 0;
        var categories = 0;
        for (var i = 0; i < reference.Length; i++)
        {
            if (reference[i] > 0)
            {
                referenceTotal += reference[i];
                known += window[i];
                categories++;
            }
        }

        if (categories < 2 || known == 0)
        {
            return null;
        }

        double chi = 0;
        for (var i = 0; i < reference.Length; i++)
        {
            if (reference[i] > 0)
            {
                var expected = (double)known * reference[i] / referenceTotal;
                chi += (window[i] - expected) * (window[i] - expected) / expected;
            }
        }

        // The upper tail directly: 1 − CDF would lose every p-value below about 1e-16 to cancellation.
        var (p, floored) = Floored(SpecialFunctions.GammaUpperRegularized((categories - 1) / 2.0, chi / 2));
        return (chi, p, floored);
    }

    /// <summary>
    /// Two-sample KS statistic at the cell edges of two samples in the window cell layout (a lower bound of the exact
    /// D) and an upper bound of the exact D from the cells that hold reference mass spread over several values.
    /// </summary>
    public static (double D, double Upper) KolmogorovSmirnov(NumericProfile reference, long[] referenceCells, long[] windowCells, long windowTotal)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(referenceCells);
        ArgumentNullException.ThrowIfNull(windowCells);
        long r = 0;
        long w = 0;
        double d = 0;
        double upper = 0;
        double before = 0;
        for (var cell = 0; cell < referenceCells.Length; cell++)
        {
            r += referenceCells[cell];
            w += windowCells[cell];
            var after = ((double)r / reference.Count) - ((double)w / windowTotal);
            d = Math.Max(d, Math.Abs(after));
            if (cell >= 1 && cell <= reference.Cells && referenceCells[cell] > 0 && windowCells[cell] > 0 && !reference.IsPointCell(cell - 1))
            {
                // Inside the cell F_ref rises by rm and F_win by wm, each anywhere: before + ΔR − ΔW lies in
                // [max(before − wm, after − rm), min(before + rm, after + wm)].
                var rm = (double)referenceCells[cell] / reference.Count;
                var wm = (double)windowCells[cell] / windowTotal;
                upper = Math.Max(upper, Math.Max(Math.Min(before + rm, after + wm), -Math.Max(before - wm, after - rm)));
            }

            before = after;
        }

        return (d, Math.Max(d, upper));
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

        // Q = 2 Σ (−1)^(j−1) exp(−2j²λ²): the terms fall fast, and the sum keeps its relative precision down to the
        // underflow of exp (about 1e-308).
        double q = 0;
        for (var j = 1; j <= 100; j++)
        {
            var term = Math.Exp(-2.0 * j * j * lambda * lambda);
            q += (j % 2 == 1 ? 2 : -2) * term;
            if (term < 1e-17 * q)
            {
                break;
            }
        }

        return Math.Clamp(q, 0, 1);
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

    private static (double Value, bool Floored) Floored(double p) => p < PValueFloor ? (PValueFloor, true) : (p, false);

    /// <summary>
    /// ∫|F_ref − F_win| dx and a bound of its error. Point cells and tracked values are steps at known positions; the
    /// rest of a cell's mass (reference mass spread over several values, untracked window values) rises linearly
    /// across the cell, which is off by at most max(spread reference mass, untracked window mass) at any x in it.
    /// </summary>
    private static (double Area, double Bound) Wasserstein(NumericProfile reference, long[] refCells, NumericWindow window)
    {
        var winCells = window.CellCounts;
        var edges = CellEdges(reference, window);
        var tracked = window.OutsideValues.ToList();
        var next = 0;
        double n = reference.Count;
        double m = window.Count;
        double area = 0;
        double bound = 0;
        long r = 0;
        long w = 0;
        for (var cell = 0; cell < refCells.Length; cell++)
        {
            var start = edges[cell];
            var width = edges[cell + 1] - start;
            var before = (r / n) - (w / m);
            r += refCells[cell];
            w += winCells[cell];
            var after = (r / n) - (w / m);
            if (cell >= 1 && cell <= reference.Cells && reference.IsPointCell(cell - 1))
            {
                // All of the cell's mass sits at its lower edge: the difference is `after` across it.
                area += width * Math.Abs(after);
                continue;
            }

            // The tracked values of this cell (ascending, like the cells): steps at their own positions.
            var first = next;
            double trackedMass = 0;
            while (next < tracked.Count && reference.WindowCellOf(tracked[next].Key) == cell)
            {
                trackedMass += tracked[next++].Value / m;
            }

            var spread = refCells[cell] / n;
            var untracked = Math.Max((winCells[cell] / m) - trackedMass, 0);
            var position = start;
            var level = before;
            double steps = 0;
            for (var i = first; i < next; i++)
            {
                var (value, count) = tracked[i];
                var end = before + (width > 0 ? (spread - untracked) * (value - start) / width : 0) - steps;
                area += Segment(value - position, level, end);
                steps += count / m;
                level = end - (count / m);
                position = value;
            }

            area += Segment(edges[cell + 1] - position, level, after);
            bound += width * Math.Max(spread, untracked);
        }

        return (area, bound);
    }

    /// <summary>∫|d| over a segment where d runs linearly from <paramref name="d0"/> to <paramref name="d1"/>.</summary>
    private static double Segment(double width, double d0, double d1)
    {
        if (width <= 0)
        {
            return 0;
        }

        return (d0 >= 0) == (d1 >= 0)
            ? width * (Math.Abs(d0) + Math.Abs(d1)) / 2
            : width * ((d0 * d0) + (d1 * d1)) / (2 * (Math.Abs(d0) + Math.Abs(d1)));
    }
}
