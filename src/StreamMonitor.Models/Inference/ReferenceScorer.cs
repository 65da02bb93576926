using StreamMonitor.Contracts;
using StreamMonitor.Contracts.Validation;
using StreamMonitor.Models.Store;

namespace StreamMonitor.Models.Inference;

/// <summary>The model's scores of a reference data set, and the rows it could not score.</summary>
/// <param name="Scores">One score per scored row, in input order.</param>
/// <param name="Rows">Rows offered.</param>
/// <param name="Rejected">Rows the validator rejected, by <see cref="ReasonCodes"/> code (ordinal order).</param>
/// <param name="FirstRejection">The first rejection, for the message (null when none).</param>
public sealed record ReferenceScores(IReadOnlyList<double> Scores, long Rows, IReadOnlyDictionary<string, long> Rejected, ValidationError? FirstRejection)
{
    /// <summary>Rows rejected in all.</summary>
    public long RejectedRows => Rows - Scores.Count;
}

/// <summary>
/// Scores the rows of a drift reference (the training split, a features-topic range) with a stored model, the way
/// the scorer does: each row goes through the scorer's <see cref="FeatureValidator"/> (same missing-value policy, same
/// reason codes) into the pinned batch of a <see cref="ModelSession"/>, full batches run through ONNX Runtime and
/// every output row is read by <see cref="OutputReader"/>. A row the scorer would send to the dead-letter topic
/// has no score live either, so it is counted by reason and left out of the reference. One instance per pass;
/// not thread-safe (the session is not).
/// </summary>
public sealed class ReferenceScorer
{
    /// <summary>Feature name under which the score reference is profiled and drift results report it.</summary>
    public const string ScoreFeature = "prediction_score";

    private readonly ModelSession _session;
    private readonly FeatureValidator _validator;
    private readonly List<double> _scores = [];
    private readonly SortedDictionary<string, long> _rejected = new(StringComparer.Ordinal);
    private ValidationError? _firstRejection;
    private long _rows;
    private int _pending;

    /// <summary>Creates a scorer over a session and the validator of the same model version.</summary>
    public ReferenceScorer(ModelSession session, FeatureValidator validator)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(validator);
        _session = session;
        _validator = validator;
    }

    /// <summary>Validates one row into the batch; runs the batch when it is full.</summary>
    public void Add(FeatureEvent row)
    {
        ArgumentNullException.ThrowIfNull(row);
        _rows++;
        if (_validator.Fill(row, _session, _pending) is { } invalid)
        {
            _rejected[invalid.Code] = _rejected.GetValueOrDefault(invalid.Code) + 1;
            _firstRejection ??= invalid with { Detail = $"row {_rows}: {invalid.Detail}" };
            return;
        }

        if (++_pending == _session.MaxBatchRows)
        {
            Flush();
        }
    }

    /// <summary>Runs the last, partial batch and returns the scores of every row added.</summary>
    public ReferenceScores Complete()
    {
        Flush();
        return new ReferenceScores(_scores.ToArray(), _rows, new SortedDictionary<string, long>(_rejected, StringComparer.Ordinal), _firstRejection);
    }

    /// <summary>
    /// Appends the score of each of <paramref name="rows"/> output rows (row-major, <see cref="ModelManifest.OutputWidth"/>
    /// wide) to <paramref name="scores"/>, read as the scorer reads it (<see cref="OutputReader.Apply"/>, then
    /// <see cref="Prediction.Score"/>; NaN if the output kind gives none). Shared by every way of running the model.
    /// </summary>
    public static void ReadScores(ModelManifest manifest, ReadOnlySpan<float> outputs, int rows, ICollection<double> scores)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(scores);
        var width = manifest.OutputWidth;
        if (rows < 0 || outputs.Length < rows * width)
        {
            throw new ArgumentException($"{outputs.Length} outputs do not hold {rows} rows of width {width}.", nameof(outputs));
        }

        for (var r = 0; r < rows; r++)
        {
            // A fresh prediction per row: Apply appends multiclass probabilities to the one it is given.
            var prediction = new Prediction();
            OutputReader.Apply(manifest, outputs.Slice(r * width, width), prediction);
            scores.Add(prediction.Score ?? double.NaN);
        }
    }

    private void Flush()
    {
        if (_pending == 0)
        {
            return;
        }

        _session.Run(_pending);
        for (var r = 0; r < _pending; r++)
        {
            ReadScores(_session.Model.Manifest, _session.OutputRow(r), 1, _scores);
        }

        _pending = 0;
    }
}
