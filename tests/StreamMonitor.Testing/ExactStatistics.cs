namespace StreamMonitor.Testing;

/// <summary>
/// Two-sample statistics computed exactly on raw values, independently of the drift implementation (which works on
/// a reference grid): the yardstick its bounded estimates are tested against.
/// </summary>
public static class ExactStatistics
{
    /// <summary>Exact two-sample KS statistic by a sweep over both sorted samples.</summary>
    public static double KolmogorovSmirnov(double[] a, double[] b)
    {
        var x = a.Order().ToArray();
        var y = b.Order().ToArray();
        int i = 0, j = 0;
        double d = 0;
        while (i < x.Length || j < y.Length)
        {
            var v = Math.Min(i < x.Length ? x[i] : double.MaxValue, j < y.Length ? y[j] : double.MaxValue);
            while (i < x.Length && x[i] <= v)
            {
                i++;
            }

            while (j < y.Length && y[j] <= v)
            {
                j++;
            }

            d = Math.Max(d, Math.Abs(((double)i / x.Length) - ((double)j / y.Length)));
        }

        return d;
    }

    /// <summary>Exact W1 between two empirical distributions: ∫|F − G| over the merged sorted support.</summary>
    public static double Wasserstein(double[] a, double[] b)
    {
        var points = a.Concat(b).Order().ToArray();
        var x = a.Order().ToArray();
        var y = b.Order().ToArray();
        int i = 0, j = 0;
        double area = 0;
        for (var k = 0; k < points.Length - 1; k++)
        {
            while (i < x.Length && x[i] <= points[k])
            {
                i++;
            }

            while (j < y.Length && y[j] <= points[k])
            {
                j++;
            }

            area += Math.Abs(((double)i / x.Length) - ((double)j / y.Length)) * (points[k + 1] - points[k]);
        }

        return area;
    }
}
