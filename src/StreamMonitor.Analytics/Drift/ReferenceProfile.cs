using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace StreamMonitor.Analytics.Drift;

/// <summary>
/// The reference distribution of a model's inputs (and optionally its score), built once from training data by
/// `streammon profile build`. Numeric features keep exact reference counts in the cells of a grid (see
/// <see cref="NumericProfile"/>: the exact value frequencies of a discrete column, reference quantiles with the heavy
/// values in cells of their own for a continuous one); categorical features keep category counts.
/// </summary>
public sealed class ReferenceProfile
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    /// <summary>Model name the profile describes.</summary>
    public string Model { get; set; } = "";

    /// <summary>Content hash (SHA-256 prefix of the profile without this field): identifies the reference in results.</summary>
    public string Id { get; set; } = "";

    /// <summary>Where the reference came from (file or topic range).</summary>
    public string Source { get; set; } = "";

    /// <summary>Reference rows.</summary>
    public long Rows { get; set; }

    /// <summary>Numeric features, in a fixed order.</summary>
    public List<NumericProfile> Numeric { get; set; } = [];

    /// <summary>Categorical features, in a fixed order.</summary>
    public List<CategoricalProfile> Categorical { get; set; } = [];

    /// <summary>Reference distribution of the prediction score, when the reference had scores.</summary>
    public NumericProfile? Score { get; set; }

    /// <summary>Serialises to JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Parses JSON and checks the invariants the statistics rely on.</summary>
    public static ReferenceProfile FromJson(string json)
    {
        var profile = JsonSerializer.Deserialize<ReferenceProfile>(json, Json) ?? throw new InvalidDataException("Empty profile.");
        foreach (var numeric in profile.Numeric.Append(profile.Score).OfType<NumericProfile>())
        {
            numeric.Validate();
        }

        return profile;
    }

    /// <summary>Loads a profile file.</summary>
    public static ReferenceProfile Load(string path) => FromJson(File.ReadAllText(path));

    /// <summary>Sets <see cref="Id"/> from the content.</summary>
    public void Seal()
    {
        Id = "";
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(ToJson()));
        Id = Convert.ToHexStringLower(hash.AsSpan(0, 8));
    }
}

/// <summary>
/// Reference distribution of one numeric column as exact counts in cells of a grid. A cell is either a point cell
/// [v, next double after v), which holds the single value v, or an interval of several values. A discrete column (at
/// most <see cref="DefaultDiscreteMaxValues"/> distinct values) gets a point cell per value and the gap cells between
/// them: its value frequencies are kept exactly, and window values between reference values fall into gaps. A
/// continuous column gets a grid of reference quantiles in which every value holding more than 1/G of the mass has a
/// point cell of its own, so no interval cell holds more than 2/G of the mass (G = grid resolution, see docs/aggregator.md).
/// </summary>
public sealed class NumericProfile
{
    /// <summary>Columns with at most this many distinct reference values are profiled as discrete.</summary>
    public const int DefaultDiscreteMaxValues = 20;

    /// <summary>Default grid resolution G of continuous columns.</summary>
    public const int DefaultGridResolution = 1000;

    /// <summary>Column name.</summary>
    public string Name { get; set; } = "";

    /// <summary>
    /// True when every reference value has a point cell and PSI, Jensen-Shannon and chi-square are computed on the
    /// values (profiles written before this property existed are continuous).
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool Discrete { get; set; }

    /// <summary>Non-null, finite reference values.</summary>
    public long Count { get; set; }

    /// <summary>Null or NaN reference values.</summary>
    public long Nulls { get; set; }

    /// <summary>Smallest reference value.</summary>
    public double Min { get; set; }

    /// <summary>Largest reference value.</summary>
    public double Max { get; set; }

    /// <summary>Mean.</summary>
    public double Mean { get; set; }

    /// <summary>Population standard deviation (Wasserstein is normalised by it).</summary>
    public double Std { get; set; }

    /// <summary>
    /// Ascending distinct cell edges, first = min. Cell i is [Grid[i], Grid[i+1]); the last cell also holds its upper
    /// edge when that is the max. A cell whose upper edge is the next double after its lower edge is a point cell.
    /// </summary>
    public double[] Grid { get; set; } = [];

    /// <summary>Exact reference counts per grid cell (Grid.Length − 1 cells).</summary>
    public long[] GridCounts { get; set; } = [];

    /// <summary>
    /// Indexes into <see cref="Grid"/> of the interior edges of the coarse bins of PSI and Jensen-Shannon (about
    /// equal reference mass); empty for discrete columns, whose bins are their values.
    /// </summary>
    public int[] BinEdges { get; set; } = [];

    /// <summary>Number of grid cells.</summary>
    [JsonIgnore]
    public int Cells => GridCounts.Length;

    /// <summary>True when grid cell <paramref name="cell"/> holds a single value (its lower edge).</summary>
    public bool IsPointCell(int cell) => Grid[cell + 1] == Math.BitIncrement(Grid[cell]);

    /// <summary>
    /// Window cell of a value, in the window layout [under, cell 0 .. cell K−1, over]: 0 below the reference min,
    /// K + 1 above the max.
    /// </summary>
    public int WindowCellOf(double value)
    {
        if (value < Grid[0])
        {
            return 0;
        }

        if (value > Max)
        {
            return Cells + 1;
        }

        // Largest i with Grid[i] <= value, capped to the last cell (which holds the max).
        var index = Array.BinarySearch(Grid, value);
        var cell = index >= 0 ? index : ~index - 1;
        return Math.Min(cell, Cells - 1) + 1;
    }

    /// <summary>
    /// True when a window value in window-layout cell <paramref name="windowCell"/> is not a reference value of a
    /// discrete column (below, between or above the reference values).
    /// </summary>
    public bool IsUnseenCell(int windowCell) => Discrete && (windowCell == 0 || windowCell == Cells + 1 || !IsPointCell(windowCell - 1));

    /// <summary>
    /// True when a window value in window-layout cell <paramref name="windowCell"/> is outside the reference: not a
    /// reference value of a discrete column (<see cref="IsUnseenCell"/>), below or above the range of a continuous one.
    /// </summary>
    public bool IsOutsideCell(int windowCell) => windowCell == 0 || windowCell == Cells + 1 || IsUnseenCell(windowCell);

    /// <summary>Checks the grid invariants.</summary>
    public void Validate()
    {
        if (Grid.Length < 2 || GridCounts.Length != Grid.Length - 1)
        {
            throw new InvalidDataException($"Profile of '{Name}': grid needs at least 2 edges and one count per cell.");
        }

        for (var i = 1; i < Grid.Length; i++)
        {
            if (!(Grid[i] > Grid[i - 1]))
            {
                throw new InvalidDataException($"Profile of '{Name}': grid edges must be strictly ascending.");
            }
        }

        // The max closes the last cell, or is the value of a last point cell.
        if (Grid[0] != Min || !(Max == Grid[^1] || (Max == Grid[^2] && IsPointCell(Cells - 1))))
        {
            throw new InvalidDataException($"Profile of '{Name}': min and max must be the grid's first edge and last value.");
        }

        if (GridCounts.Sum() != Count || GridCounts.Any(c => c < 0) || BinEdges.Any(e => e <= 0 || e >= Grid.Length - 1))
        {
            throw new InvalidDataException($"Profile of '{Name}': counts or bin edges are inconsistent.");
        }

        if (Discrete && Enumerable.Range(0, Cells).Any(c => !IsPointCell(c) && GridCounts[c] != 0))
        {
            throw new InvalidDataException($"Profile of '{Name}': a discrete profile holds reference values in point cells only.");
        }
    }

    /// <summary>
    /// Builds the profile of one column from its values (nulls as NaN). At most <paramref name="discreteMaxValues"/>
    /// distinct finite values: discrete; otherwise a grid of <paramref name="gridResolution"/> quantiles with point
    /// cells for the values heavier than 1/<paramref name="gridResolution"/>.
    /// </summary>
    public static NumericProfile Build(string name, IEnumerable<double> values, int gridResolution = DefaultGridResolution, int bins = 10, int discreteMaxValues = DefaultDiscreteMaxValues)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(gridResolution, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(bins, 2);
        ArgumentOutOfRangeException.ThrowIfNegative(discreteMaxValues);
        var all = values.ToList();
        var finite = all.Where(double.IsFinite).Order().ToArray();
        if (finite.Length == 0)
        {
            throw new InvalidDataException($"Column '{name}' has no finite values.");
        }

        var n = finite.Length;
        var distinct = new List<(double Value, long Count)>();
        foreach (var value in finite)
        {
            if (distinct.Count > 0 && distinct[^1].Value == value)
            {
                distinct[^1] = (value, distinct[^1].Count + 1);
            }
            else
            {
                distinct.Add((value, 1));
            }
        }

        var discrete = distinct.Count <= discreteMaxValues;
        var edges = new SortedSet<double>();
        foreach (var (value, count) in distinct)
        {
            // Point cell [v, v⁺): a value heavier than the resolution 1/G (every value of a discrete column).
            if (discrete || count * gridResolution > n)
            {
                edges.Add(value);
                edges.Add(Math.BitIncrement(value));
            }
        }

        if (!discrete)
        {
            for (var i = 0; i <= gridResolution; i++)
            {
                // Lower empirical quantile at i/G: the value at rank ceil(i·n/G), first value for i = 0.
                var rank = Math.Max(1, (((long)i * n) + gridResolution - 1) / gridResolution);
                edges.Add(finite[rank - 1]);
            }
        }

        var profile = new NumericProfile
        {
            Name = name,
            Discrete = discrete,
            Count = n,
            Nulls = all.Count - n,
            Min = finite[0],
            Max = finite[^1],
            Mean = finite.Average(),
            Grid = [.. edges],
        };
        profile.GridCounts = new long[profile.Grid.Length - 1];
        profile.Std = Math.Sqrt(finite.Sum(v => (v - profile.Mean) * (v - profile.Mean)) / n);
        foreach (var (value, count) in distinct)
        {
            profile.GridCounts[profile.WindowCellOf(value) - 1] += count;
        }

        profile.BinEdges = discrete ? [] : [.. EqualMassBinEdges(profile.GridCounts, n, bins)];
        return profile;
    }

    /// <summary>Interior bin edges (grid indexes) after the first cell where the cumulative count reaches each j·n/bins.</summary>
    private static List<int> EqualMassBinEdges(long[] gridCounts, long n, int bins)
    {
        var binEdges = new List<int>();
        long cumulative = 0;
        for (var cell = 0; cell < gridCounts.Length - 1; cell++)
        {
            cumulative += gridCounts[cell];
            var target = (long)(binEdges.Count + 1) * n / bins;
            if (cumulative >= target && binEdges.Count < bins - 1)
            {
                binEdges.Add(cell + 1);
            }
        }

        return binEdges;
    }
}

/// <summary>Reference distribution of one categorical column.</summary>
public sealed class CategoricalProfile
{
    /// <summary>Column name.</summary>
    public string Name { get; set; } = "";

    /// <summary>Non-null reference values.</summary>
    public long Count { get; set; }

    /// <summary>Null reference values.</summary>
    public long Nulls { get; set; }

    /// <summary>Reference count per category (ordinal order).</summary>
    public SortedDictionary<string, long> Frequencies { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Builds the profile of one column (null = missing).</summary>
    public static CategoricalProfile Build(string name, IEnumerable<string?> values)
    {
        var profile = new CategoricalProfile { Name = name };
        foreach (var value in values)
        {
            if (value is null)
            {
                profile.Nulls++;
                continue;
            }

            profile.Count++;
            profile.Frequencies[value] = profile.Frequencies.GetValueOrDefault(value) + 1;
        }

        return profile;
    }
}

/// <summary>Builds a <see cref="ReferenceProfile"/> from a CSV file with a header row.</summary>
public static class ProfileBuilder
{
    /// <summary>
    /// Reads the CSV (comma-separated, no quoted commas), treats a column as numeric when every non-empty value parses
    /// as a number (invariant culture), and builds the profile. Empty cells, "NA", "NaN" and "null" are missing.
    /// Grid, bins and the discrete threshold as in <see cref="NumericProfile.Build"/>.
    /// </summary>
    public static ReferenceProfile FromCsv(string path, string model, IReadOnlyCollection<string> exclude, string? scoreColumn = null, int gridResolution = NumericProfile.DefaultGridResolution, int bins = 10, int discreteMaxValues = NumericProfile.DefaultDiscreteMaxValues)
    {
        var lines = File.ReadAllLines(path).Where(l => l.Length > 0).ToList();
        if (lines.Count < 2)
        {
            throw new InvalidDataException($"{path}: a header and at least one row are needed.");
        }

        var header = lines[0].Split(',').Select(h => h.Trim()).ToArray();
        var rows = lines.Skip(1).Select(l => l.Split(',')).ToList();
        var bad = rows.FindIndex(r => r.Length != header.Length);
        if (bad >= 0)
        {
            throw new InvalidDataException($"{path}: row {bad + 2} has {rows[bad].Length} fields, the header {header.Length}.");
        }

        var profile = new ReferenceProfile { Model = model, Source = Path.GetFileName(path), Rows = rows.Count };
        for (var c = 0; c < header.Length; c++)
        {
            if (exclude.Contains(header[c]))
            {
                continue;
            }

            var cells = rows.Select(r => Missing(r[c]) ? null : r[c].Trim()).ToList();
            var numbers = cells.Select(v => v is null ? double.NaN : double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : (double?)null).ToList();
            if (numbers.All(n => n is not null))
            {
                var numeric = NumericProfile.Build(header[c], numbers.Select(n => n!.Value), gridResolution, bins, discreteMaxValues);
                if (header[c] == scoreColumn)
                {
                    profile.Score = numeric;
                }
                else
                {
                    profile.Numeric.Add(numeric);
                }
            }
            else
            {
                profile.Categorical.Add(CategoricalProfile.Build(header[c], cells));
            }
        }

        profile.Seal();
        return profile;
    }

    private static bool Missing(string cell)
    {
        var trimmed = cell.Trim();
        return trimmed.Length == 0 || trimmed.Equals("NA", StringComparison.OrdinalIgnoreCase) || trimmed.Equals("NaN", StringComparison.OrdinalIgnoreCase) || trimmed.Equals("null", StringComparison.OrdinalIgnoreCase);
    }
}
