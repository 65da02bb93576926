using StreamMonitor.Contracts;

namespace StreamMonitor.Analytics.Drift;

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
public static partial class DriftStatistics
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
}
