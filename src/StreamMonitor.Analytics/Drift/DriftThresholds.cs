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
