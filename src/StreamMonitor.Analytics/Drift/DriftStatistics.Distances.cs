using MathNet.Numerics;

namespace StreamMonitor.Analytics.Drift;

/// <summary>The distances and tests behind <see cref="DriftStatistics"/>'s decisions: PSI, Jensen-Shannon, chi-square, Kolmogorov-Smirnov, Wasserstein.</summary>
public static partial class DriftStatistics
{
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
