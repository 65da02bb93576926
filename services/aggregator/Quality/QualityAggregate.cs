using StreamMonitor.Analytics;
using StreamMonitor.Analytics.Latency;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.State;

namespace StreamMonitor.Aggregator.Quality;

/// <summary>
/// Quality state of one window of one model version on one partition: counts (merge by addition) plus the exact label
/// delays, (score, label) pairs of labeled binary predictions and errors of labeled regression predictions (merge by
/// concatenation), so percentiles and ROC AUC are exact and the sums behind log loss, Brier, MAE and RMSE do not depend
/// on join order. Size: 8 bytes per labeled prediction (delay) + 9 per labeled binary + 8 per labeled regression one.
/// </summary>
public sealed class QualityAggregate : IMergeable<QualityAggregate>
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

    /// <summary>
    /// The state's binary format: the counts (<see cref="WriteCountsTo"/>) and then the lists (<see cref="WriteLists"/>).
    /// Partials and the result topology store it without a leading version byte, as the running release writes them;
    /// the format's version is inside the lists (version 1 ends after the pairs, version 2 appends a version number and
    /// the regression errors), so a stored state is read with <see cref="ReadEmbedded"/>, which tells the version by
    /// the end of the record. <see cref="StateCodec.Encode{T}"/> writes a standalone record with the version byte first.
    /// </summary>
    public static IStateCodec<QualityAggregate> Codec { get; } = new Format();

    /// <summary>
    /// Reads a state stored without the version byte (<see cref="IStateCodec{T}.Write"/>), to the end of the stream:
    /// either version, told by whether the lists end after the pairs.
    /// </summary>
    /// <exception cref="InvalidDataException">The lists carry an unknown version.</exception>
    public static QualityAggregate ReadEmbedded(BinaryReader reader)
    {
        var aggregate = ReadCountsFrom(reader);
        aggregate.ReadListsFrom(reader);
        return aggregate;
    }

    /// <summary>Encodes the counts and sums only (fixed size; the lists travel apart, see <see cref="WriteLists"/>).</summary>
    public void WriteCountsTo(BinaryWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        foreach (var value in _counts)
        {
            writer.Write(value);
        }

        // Two retired slots (the binary log-loss and Brier sums, now computed from the pairs) and the regression sums,
        // now only the legacy part (the rest is in the errors): existing partials and changelogs keep their layout.
        writer.Write(0.0);
        writer.Write(0.0);
        writer.Write(LegacyAbsErrorSum);
        writer.Write(LegacySquaredErrorSum);
    }

    /// <summary>Decodes <see cref="WriteCountsTo"/>: an aggregate with empty lists.</summary>
    public static QualityAggregate ReadCountsFrom(BinaryReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var aggregate = new QualityAggregate();
        for (var i = 0; i < aggregate._counts.Length; i++)
        {
            aggregate._counts[i] = reader.ReadInt64();
        }

        reader.ReadDouble();
        reader.ReadDouble();
        aggregate.LegacyAbsErrorSum = reader.ReadDouble();
        aggregate.LegacySquaredErrorSum = reader.ReadDouble();
        return aggregate;
    }

    /// <summary>
    /// Encodes label delays, (score, label) pairs and regression errors (all of them, or a run of new ones). The lists end
    /// their record: version 2 appends the errors after a version number; a version 1 record ends after the pairs.
    /// </summary>
    public static void WriteLists(BinaryWriter writer, IReadOnlyList<long> delaysMs, IReadOnlyList<(double Score, bool Positive)> scores, IReadOnlyList<double> errors)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(delaysMs);
        ArgumentNullException.ThrowIfNull(scores);
        ArgumentNullException.ThrowIfNull(errors);
        writer.Write(delaysMs.Count);
        foreach (var delay in delaysMs)
        {
            writer.Write(delay);
        }

        writer.Write(scores.Count);
        foreach (var (score, positive) in scores)
        {
            writer.Write(score);
            writer.Write(positive);
        }

        writer.Write(ListsVersion);
        writer.Write(errors.Count);
        foreach (var error in errors)
        {
            writer.Write(error);
        }
    }

    /// <summary>
    /// Appends lists written by <see cref="WriteLists"/>, reading to the end of the stream (a version 1 record has no
    /// errors: its regression predictions are in the legacy sums of the counts).
    /// </summary>
    public void ReadListsFrom(BinaryReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ReadDelaysAndScores(reader);
        if (reader.BaseStream.Position != reader.BaseStream.Length)
        {
            ReadErrors(reader);
        }
    }

    private void ReadDelaysAndScores(BinaryReader reader)
    {
        var delays = reader.ReadInt32();
        for (var i = 0; i < delays; i++)
        {
            DelaysMs.Add(reader.ReadInt64());
        }

        var scores = reader.ReadInt32();
        for (var i = 0; i < scores; i++)
        {
            Scores.Add((reader.ReadDouble(), reader.ReadBoolean()));
        }
    }

    private void ReadErrors(BinaryReader reader)
    {
        var version = reader.ReadInt32();
        if (version != ListsVersion)
        {
            throw new InvalidDataException($"Quality lists version {version} is not {ListsVersion}.");
        }

        var errors = reader.ReadInt32();
        for (var i = 0; i < errors; i++)
        {
            Errors.Add(reader.ReadDouble());
        }
    }

    private static (double Sum, double Compensation) Neumaier(double sum, double compensation, double term)
    {
        var next = sum + term;
        compensation += Math.Abs(sum) >= Math.Abs(term) ? (sum - next) + term : (term - next) + sum;
        return (next, compensation);
    }

    private sealed class Format : IStateCodec<QualityAggregate>
    {
        public byte Version => ListsVersion;

        public void Write(BinaryWriter writer, QualityAggregate value)
        {
            ArgumentNullException.ThrowIfNull(value);
            value.WriteCountsTo(writer);
            WriteLists(writer, value.DelaysMs, value.Scores, value.Errors);
        }

        public QualityAggregate Read(BinaryReader reader, byte version)
        {
            var aggregate = ReadCountsFrom(reader);
            aggregate.ReadDelaysAndScores(reader);
            if (version >= 2)
            {
                aggregate.ReadErrors(reader);
            }

            return aggregate;
        }
    }
}
