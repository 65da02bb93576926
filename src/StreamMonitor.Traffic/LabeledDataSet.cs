using System.Globalization;

namespace StreamMonitor.Traffic;

/// <summary>One row of a labeled tabular data set: numeric features in <see cref="LabeledDataSet.FeatureNames"/> order and the true label.</summary>
public sealed record LabeledRow(int Index, double[] Features, double Label);

/// <summary>
/// A numeric CSV data set with a header and a label column (the layout of data/breast_cancer_wisconsin.csv and of the
/// train/held-out split files written next to the model store). Small enough to hold in memory.
/// </summary>
public sealed class LabeledDataSet
{
    /// <summary>Name of the label column.</summary>
    public const string DefaultLabelColumn = "label";

    private LabeledDataSet(IReadOnlyList<string> featureNames, IReadOnlyList<LabeledRow> rows)
    {
        FeatureNames = featureNames;
        Rows = rows;
    }

    /// <summary>Feature column names in file order.</summary>
    public IReadOnlyList<string> FeatureNames { get; }

    /// <summary>Rows in file order.</summary>
    public IReadOnlyList<LabeledRow> Rows { get; }

    /// <summary>Reads a CSV file; every non-label column must be numeric (empty cells read as NaN).</summary>
    public static LabeledDataSet Load(string path, string labelColumn = DefaultLabelColumn)
    {
        using var reader = new StreamReader(path);
        return Parse(reader, path, labelColumn);
    }

    /// <summary>Parses CSV text; <paramref name="source"/> names the input in error messages.</summary>
    public static LabeledDataSet Parse(TextReader reader, string source, string labelColumn = DefaultLabelColumn)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var header = reader.ReadLine() ?? throw new InvalidDataException($"{source}: empty file.");
        var columns = header.Split(',').Select(c => c.Trim()).ToArray();
        var labelIndex = Array.IndexOf(columns, labelColumn);
        if (labelIndex < 0)
        {
            throw new InvalidDataException($"{source}: no '{labelColumn}' column in the header.");
        }

        var featureNames = columns.Where((_, i) => i != labelIndex).ToArray();
        var rows = new List<LabeledRow>();
        var lineNumber = 1;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (line.Length == 0)
            {
                continue;
            }

            var cells = line.Split(',');
            if (cells.Length != columns.Length)
            {
                throw new InvalidDataException($"{source}:{lineNumber}: {cells.Length} cells, the header has {columns.Length}.");
            }

            var features = new double[featureNames.Length];
            var f = 0;
            double label = 0;
            for (var c = 0; c < cells.Length; c++)
            {
                var value = ParseCell(cells[c], source, lineNumber);
                if (c == labelIndex)
                {
                    label = value;
                }
                else
                {
                    features[f++] = value;
                }
            }

            rows.Add(new LabeledRow(rows.Count, features, label));
        }

        return new LabeledDataSet(featureNames, rows);
    }

    /// <summary>
    /// Deterministic train/held-out split: a seeded Fisher-Yates shuffle of the row indices, the last
    /// <paramref name="heldOutShare"/> of them held out. Used when no split file exists next to the model store.
    /// </summary>
    public (LabeledDataSet Train, LabeledDataSet HeldOut) Split(int seed, double heldOutShare)
    {
        if (heldOutShare is <= 0 or >= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(heldOutShare), heldOutShare, "Must be in (0, 1).");
        }

        var order = Enumerable.Range(0, Rows.Count).ToArray();
        new Random(seed).Shuffle(order);
        var heldOutCount = Math.Max(1, (int)Math.Round(Rows.Count * heldOutShare));
        var train = order[..^heldOutCount].Select(i => Rows[i]).ToArray();
        var heldOut = order[^heldOutCount..].Select(i => Rows[i]).ToArray();
        return (new LabeledDataSet(FeatureNames, train), new LabeledDataSet(FeatureNames, heldOut));
    }

    private static double ParseCell(string cell, string source, int lineNumber)
    {
        var text = cell.Trim();
        if (text.Length == 0)
        {
            return double.NaN;
        }

        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
        {
            throw new InvalidDataException($"{source}:{lineNumber}: '{text}' is not a number.");
        }

        return value;
    }
}
