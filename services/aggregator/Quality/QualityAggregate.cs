using StreamMonitor.Analytics;
using StreamMonitor.Analytics.Latency;
using StreamMonitor.Contracts;

namespace StreamMonitor.Aggregator.Quality;

/// <summary>
/// Quality state of one window of one model version on one partition: counts (merge by addition) plus the exact label
/// delays, (score, label) pairs of labeled binary predictions and errors of labeled regression predictions (merge by
/// concatenation), so percentiles and ROC AUC are exact and the sums behind log loss, Brier, MAE and RMSE do not depend
/// on join order. Size: 8 bytes per labeled prediction (delay) + 9 per labeled binary + 8 per labeled regression one.
/// </summary>
public sealed partial class QualityAggregate : IMergeable<QualityAggregate>
{
    /// <summary>Probabilities are clipped to [Epsilon, 1 − Epsilon] for log loss (scikit-learn's former default).</summary>
    public const double Epsilon = 1e-15;

    /// <summary>Version of the lists record written by <see cref="WriteLists"/> (2: with the regression errors).</summary>
    private const int ListsVersion = 2;

    // The counts, indexed in the order they are written (WriteCountsTo): merged, written and read as one run.
    private readonly long[] _counts = new long[11];

    /// <summary>Joinable (status OK) predictions in the window.</summary>
    public long Predictions { get => _counts[0]; set => _counts[0] = value; }

    /// <summary>Predictions joined to a label.</summary>
    public long Labeled { get => _counts[1]; set => _counts[1] = value; }

    /// <summary>Predictions that reached the label horizon unlabeled.</summary>
    public long ExpiredUnlabeled { get => _counts[2]; set => _counts[2] = value; }

    /// <summary>Label joins and expiries applied (the result's revision: identical on replay).</summary>
    public long Revision { get => _counts[3]; set => _counts[3] = value; }

    /// <summary>Labeled classification predictions (binary and multiclass).</summary>
    public long Classified { get => _counts[4]; set => _counts[4] = value; }

    /// <summary>Labeled classification predictions whose class equals the label.</summary>
    public long Correct { get => _counts[5]; set => _counts[5] = value; }

    /// <summary>Labeled binary predictions.</summary>
    public long Binary { get => _counts[6]; set => _counts[6] = value; }

    /// <summary>Binary: predicted 1, label 1.</summary>
    public long TruePositives { get => _counts[7]; set => _counts[7] = value; }

    /// <summary>Binary: predicted 1, label 0.</summary>
    public long FalsePositives { get => _counts[8]; set => _counts[8] = value; }

    /// <summary>Binary: predicted 0, label 1.</summary>
    public long FalseNegatives { get => _counts[9]; set => _counts[9] = value; }

    /// <summary>Labeled regression predictions.</summary>
    public long Regression { get => _counts[10]; set => _counts[10] = value; }

    /// <summary>
    /// Sum of |prediction − label| of the regression predictions not in <see cref="Errors"/>: the running sum of a state
    /// written before the errors were kept (0 otherwise), added once to the sorted sum so such windows keep their MAE.
    /// </summary>
    public double LegacyAbsErrorSum { get; set; }

    /// <summary>Sum of (prediction − label)² of the regression predictions not in <see cref="Errors"/> (as above).</summary>
    public double LegacySquaredErrorSum { get; set; }

    /// <summary>Label delays (label time − prediction event time, ms) of every labeled prediction.</summary>
    public List<long> DelaysMs { get; } = [];

    /// <summary>(Score, label is 1) of every labeled binary prediction (for the exact ROC AUC).</summary>
    public List<(double Score, bool Positive)> Scores { get; } = [];

    /// <summary>Prediction − label of every labeled regression prediction (for order-independent MAE and RMSE).</summary>
    public List<double> Errors { get; } = [];

    /// <summary>Applies a joined (prediction, label) pair.</summary>
    public void AddLabeled(OutputKind kind, double score, int? predictedClass, double label, long delayMs)
    {
        Labeled++;
        Revision++;
        DelaysMs.Add(delayMs);
        switch (kind)
        {
            case OutputKind.BINARY_PROBABILITY:
                var positive = label >= 0.5;
                var predicted = score >= 0.5;
                Classified++;
                Binary++;
                Correct += predicted == positive ? 1 : 0;
                TruePositives += predicted && positive ? 1 : 0;
                FalsePositives += predicted && !positive ? 1 : 0;
                FalseNegatives += !predicted && positive ? 1 : 0;
                Scores.Add((score, positive));
                break;
            case OutputKind.MULTICLASS_PROBABILITIES:
                Classified++;
                Correct += predictedClass is { } c && c == (int)label ? 1 : 0;
                break;
            default:
                Regression++;
                Errors.Add(score - label);
                break;
        }
    }

    /// <summary>Applies the expiry of an unlabeled prediction.</summary>
    public void AddExpired()
    {
        ExpiredUnlabeled++;
        Revision++;
    }

    /// <inheritdoc />
    public void MergeFrom(QualityAggregate other)
    {
        ArgumentNullException.ThrowIfNull(other);
        for (var i = 0; i < _counts.Length; i++)
        {
            _counts[i] += other._counts[i];
        }

        LegacyAbsErrorSum += other.LegacyAbsErrorSum;
        LegacySquaredErrorSum += other.LegacySquaredErrorSum;
        DelaysMs.AddRange(other.DelaysMs);
        Scores.AddRange(other.Scores);
        Errors.AddRange(other.Errors);
    }

    /// <summary>The result event of the merged state.</summary>
    public QualityWindowResult ToResult(WindowKey window, bool final)
    {
        var result = window.Stamp(new QualityWindowResult
        {
            Revision = Revision,
            Predictions = Predictions,
            Labeled = Labeled,
            ExpiredUnlabeled = ExpiredUnlabeled,
            LabelCoverage = Predictions == 0 ? 0 : (double)Labeled / Predictions,
            Correct = Correct,
            Final = final,
        });
        if (DelaysMs.Count > 0)
        {
            var sorted = DelaysMs.ToArray();
            Array.Sort(sorted);
            result.LabelDelayP50Ms = sorted[LatencyHistogram.NearestRank(sorted.Length, 50_000) - 1];
            result.LabelDelayP90Ms = sorted[LatencyHistogram.NearestRank(sorted.Length, 90_000) - 1];
            result.LabelDelayP99Ms = sorted[LatencyHistogram.NearestRank(sorted.Length, 99_000) - 1];
        }

        if (Classified > 0)
        {
            result.Accuracy = (double)Correct / Classified;
        }

        if (Binary > 0)
        {
            result.Precision = TruePositives + FalsePositives == 0 ? null : (double)TruePositives / (TruePositives + FalsePositives);
            result.Recall = TruePositives + FalseNegatives == 0 ? null : (double)TruePositives / (TruePositives + FalseNegatives);
            result.F1 = (2 * TruePositives) + FalsePositives + FalseNegatives == 0 ? null : 2.0 * TruePositives / ((2 * TruePositives) + FalsePositives + FalseNegatives);
            (result.LogLoss, result.Brier) = LogLossAndBrier(Scores);
            result.RocAuc = RocAuc(Scores);
        }

        if (Regression > 0)
        {
            var (absSum, squaredSum) = ErrorSums(Errors);
            result.Mae = (LegacyAbsErrorSum + absSum) / Regression;
            result.Rmse = Math.Sqrt((LegacySquaredErrorSum + squaredSum) / Regression);
        }

        return result;
    }

    /// <summary>
    /// Mean log loss (p clipped to [ε, 1 − ε]) and mean Brier score of the (score, label) pairs, summed in sorted order:
    /// the same pairs give the same bits whatever order they were joined in (labels of several source partitions reach
    /// the join in an order that can differ between a live run and a replay).
    /// </summary>
    public static (double LogLoss, double Brier) LogLossAndBrier(IReadOnlyList<(double Score, bool Positive)> pairs)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        double logLoss = 0, brier = 0;
        foreach (var (score, positive) in pairs.Order())
        {
            var y = positive ? 1.0 : 0.0;
            var p = Math.Clamp(score, Epsilon, 1 - Epsilon);
            logLoss += -((y * Math.Log(p)) + ((1 - y) * Math.Log(1 - p)));
            brier += (score - y) * (score - y);
        }

        return (logLoss / pairs.Count, brier / pairs.Count);
    }

    /// <summary>
    /// Σ |e| and Σ e² of the regression errors, compensated (Neumaier) over the magnitudes in ascending order: the same
    /// errors give the same bits whatever order they were joined and merged in, and each sum is within about an ulp of
    /// the exact sum of its terms (a plain sorted sum of many terms is not).
    /// </summary>
    public static (double AbsSum, double SquaredSum) ErrorSums(IReadOnlyList<double> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        var magnitudes = new double[errors.Count];
        for (var i = 0; i < magnitudes.Length; i++)
        {
            magnitudes[i] = Math.Abs(errors[i]);
        }

        Array.Sort(magnitudes);
        double abs = 0, absCompensation = 0, squared = 0, squaredCompensation = 0;
        foreach (var magnitude in magnitudes)
        {
            (abs, absCompensation) = Neumaier(abs, absCompensation, magnitude);
            (squared, squaredCompensation) = Neumaier(squared, squaredCompensation, magnitude * magnitude);
        }

        return (abs + absCompensation, squared + squaredCompensation);
    }

    /// <summary>Exact ROC AUC (Mann-Whitney U with mid-ranks for tied scores); null without both classes.</summary>
    public static double? RocAuc(IReadOnlyList<(double Score, bool Positive)> pairs)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        var sorted = pairs.OrderBy(p => p.Score).ToArray();
        long positives = 0;
        double rankSum = 0;
        for (var i = 0; i < sorted.Length;)
        {
            var j = i;
            var tiedPositives = 0;
            while (j < sorted.Length && sorted[j].Score.Equals(sorted[i].Score))
            {
                tiedPositives += sorted[j].Positive ? 1 : 0;
                j++;
            }

            // Ranks i+1 .. j share their mean.
            rankSum += tiedPositives * ((i + 1 + j) / 2.0);
            positives += tiedPositives;
            i = j;
        }

        var negatives = sorted.Length - positives;
        return positives == 0 || negatives == 0 ? null : (rankSum - (positives * (positives + 1) / 2.0)) / (positives * (double)negatives);
    }

    private static (double Sum, double Compensation) Neumaier(double sum, double compensation, double term)
    {
        var next = sum + term;
        compensation += Math.Abs(sum) >= Math.Abs(term) ? (sum - next) + term : (term - next) + sum;
        return (next, compensation);
    }
}
