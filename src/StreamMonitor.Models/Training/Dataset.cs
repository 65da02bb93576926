using System.Globalization;
using System.Text;

namespace StreamMonitor.Models.Training;

/// <summary>A numeric tabular data set with a binary or numeric label column, rows in file order.</summary>
public sealed class Dataset
{
    /// <summary>Creates a data set; every row has one value per feature name.</summary>
    public Dataset(IReadOnlyList<string> featureNames, string labelName, IReadOnlyList<double[]> rows, IReadOnlyList<double> labels)
    {
        ArgumentNullException.ThrowIfNull(featureNames);
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(labels);
        if (rows.Count != labels.Count)
        {
            throw new ArgumentException($"{rows.Count} rows but {labels.Count} labels.", nameof(labels));
        }

        FeatureNames = featureNames;
        LabelName = labelName;
        Rows = rows;
        Labels = labels;
    }

    /// <summary>Feature names in column order: the model's input tensor columns.</summary>
    public IReadOnlyList<string> FeatureNames { get; }

    /// <summary>Label column name.</summary>
    public string LabelName { get; }

    /// <summary>Feature values per row.</summary>
    public IReadOnlyList<double[]> Rows { get; }

    /// <summary>Label per row.</summary>
    public IReadOnlyList<double> Labels { get; }

    /// <summary>Number of rows.</summary>
    public int Count => Rows.Count;

    /// <summary>Reads a CSV with a header row; every column but <paramref name="labelName"/> is a numeric feature.</summary>
    public static Dataset LoadCsv(string path, string labelName = "label")
    {
        using var reader = new StreamReader(path);
        var header = reader.ReadLine() ?? throw new InvalidDataException($"{path} is empty.");
        var columns = header.Split(',').Select(c => c.Trim()).ToArray();
        var labelIndex = Array.IndexOf(columns, labelName);
        if (labelIndex < 0)
        {
            throw new InvalidDataException($"{path} has no '{labelName}' column.");
        }

        var features = columns.Where((_, i) => i != labelIndex).ToArray();
        var rows = new List<double[]>();
        var labels = new List<double>();
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
                throw new InvalidDataException($"{path}:{lineNumber}: {cells.Length} cells, header has {columns.Length}.");
            }

            var row = new double[features.Length];
            var j = 0;
            for (var i = 0; i < cells.Length; i++)
            {
                if (!double.TryParse(cells[i], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
                {
                    throw new InvalidDataException($"{path}:{lineNumber}: '{cells[i]}' in column {columns[i]} is not a number.");
                }

                if (i == labelIndex)
                {
                    labels.Add(value);
                }
                else
                {
                    row[j++] = value;
                }
            }

            rows.Add(row);
        }

        return new Dataset(features, labelName, rows, labels);
    }

    /// <summary>
    /// Deterministic stratified split: rows of each label are shuffled with <paramref name="seed"/> and the first
    /// <paramref name="heldOutFraction"/> of each class is held out, so both parts keep the class balance.
    /// Each part keeps the original file order.
    /// </summary>
    public (Dataset Train, Dataset HeldOut) Split(double heldOutFraction, int seed)
    {
        if (heldOutFraction is <= 0 or >= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(heldOutFraction), heldOutFraction, "Must be in (0, 1).");
        }

        var random = new Random(seed);
        var heldOut = new HashSet<int>();
        foreach (var group in Enumerable.Range(0, Count).GroupBy(i => Labels[i]).OrderBy(g => g.Key))
        {
            var indices = group.ToArray();
            random.Shuffle(indices);
            var take = (int)Math.Round(indices.Length * heldOutFraction, MidpointRounding.AwayFromZero);
            heldOut.UnionWith(indices.Take(take));
        }

        var trainIdx = Enumerable.Range(0, Count).Where(i => !heldOut.Contains(i)).ToArray();
        var heldIdx = Enumerable.Range(0, Count).Where(heldOut.Contains).ToArray();
        return (Subset(trainIdx), Subset(heldIdx));
    }

    /// <summary>Writes the data set as CSV (features then label), round-trippable doubles.</summary>
    public void WriteCsv(string path) => File.WriteAllText(path, ToCsv());

    /// <summary>The data set as CSV text (features then label), round-trippable doubles.</summary>
    public string ToCsv()
    {
        var builder = new StringBuilder();
        builder.AppendJoin(',', FeatureNames).Append(',').Append(LabelName).Append('\n');
        for (var i = 0; i < Count; i++)
        {
            foreach (var value in Rows[i])
            {
                builder.Append(value.ToString("R", CultureInfo.InvariantCulture)).Append(',');
            }

            builder.Append(Labels[i].ToString("R", CultureInfo.InvariantCulture)).Append('\n');
        }

        return builder.ToString();
    }

    private Dataset Subset(int[] indices) => new(FeatureNames, LabelName, indices.Select(i => Rows[i]).ToArray(), indices.Select(i => Labels[i]).ToArray());
}
