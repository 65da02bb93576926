using StreamMonitor.Contracts.State;

namespace StreamMonitor.Analytics.Drift;

/// <summary>
/// Window state of one model's inputs against a <see cref="ReferenceProfile"/>: per numeric feature the count of
/// window values in each reference grid cell (plus below-min and above-max cells), nulls and the window's own min/max;
/// per categorical feature the category counts; per numeric feature also the values outside the reference (its set of
/// values when discrete, its range when continuous). Everything is a count, a value or a min/max, so merging is exact
/// and independent of the order.
/// </summary>
public sealed class DriftAggregate : IMergeable<DriftAggregate>
{
    /// <summary>Distinct unseen categories tracked by name per feature; more are pooled (their count stays exact).</summary>
    public const int MaxTrackedCategories = 1_000;

    /// <summary>
    /// Distinct values outside the reference tracked by value per numeric feature and aggregate; more are counted in
    /// their cells only (Wasserstein then states the bound of the untracked mass).
    /// </summary>
    public const int MaxTrackedOutsideValues = 256;

    /// <summary>Name under which categories beyond <see cref="MaxTrackedCategories"/> are pooled.</summary>
    public const string OtherCategory = "\u0000other";

    /// <summary>An empty aggregate shaped by the profile.</summary>
    public DriftAggregate(ReferenceProfile profile)
    {
        ArgumentNullException.ThrowIfNull(profile);
        Numeric = profile.Numeric.Select(p => new NumericWindow(p.Cells + 2)).ToArray();
        Categorical = profile.Categorical.Select(_ => new CategoricalWindow()).ToArray();
        Score = profile.Score is { } score ? new NumericWindow(score.Cells + 2) : null;
    }

    private DriftAggregate(NumericWindow[] numeric, CategoricalWindow[] categorical, NumericWindow? score)
    {
        Numeric = numeric;
        Categorical = categorical;
        Score = score;
    }

    /// <summary>Events seen.</summary>
    public long Count { get; set; }

    /// <summary>Per numeric feature, in profile order.</summary>
    public NumericWindow[] Numeric { get; }

    /// <summary>Per categorical feature, in profile order.</summary>
    public CategoricalWindow[] Categorical { get; }

    /// <summary>The prediction score, when the profile has a score reference.</summary>
    public NumericWindow? Score { get; }

    /// <inheritdoc />
    public void MergeFrom(DriftAggregate other)
    {
        ArgumentNullException.ThrowIfNull(other);
        Count += other.Count;
        for (var i = 0; i < Numeric.Length; i++)
        {
            Numeric[i].MergeFrom(other.Numeric[i]);
        }

        for (var i = 0; i < Categorical.Length; i++)
        {
            Categorical[i].MergeFrom(other.Categorical[i]);
        }

        if (Score is not null && other.Score is not null)
        {
            Score.MergeFrom(other.Score);
        }
    }

    /// <summary>
    /// The binary format of checkpoints, changelogs and partial results: the count, each window without a version
    /// byte of its own (its format follows the aggregate's: <see cref="NumericWindow.Codec"/>,
    /// <see cref="CategoricalWindow.Codec"/>), then the score window if any. Version 2 added the values outside the
    /// reference; version 1 states are read without them.
    /// </summary>
    public static IStateCodec<DriftAggregate> Codec { get; } = new Format();

    private sealed class Format : IStateCodec<DriftAggregate>
    {
        public byte Version => 2;

        public void Write(BinaryWriter writer, DriftAggregate value)
        {
            ArgumentNullException.ThrowIfNull(writer);
            ArgumentNullException.ThrowIfNull(value);
            writer.Write(value.Count);
            writer.Write(value.Numeric.Length);
            foreach (var numeric in value.Numeric)
            {
                NumericWindow.Codec.Write(writer, numeric);
            }

            writer.Write(value.Categorical.Length);
            foreach (var categorical in value.Categorical)
            {
                CategoricalWindow.Codec.Write(writer, categorical);
            }

            writer.Write(value.Score is not null);
            if (value.Score is not null)
            {
                NumericWindow.Codec.Write(writer, value.Score);
            }
        }

        public DriftAggregate Read(BinaryReader reader, byte version)
        {
            ArgumentNullException.ThrowIfNull(reader);
            var count = reader.ReadInt64();
            var numeric = new NumericWindow[reader.ReadInt32()];
            for (var i = 0; i < numeric.Length; i++)
            {
                numeric[i] = NumericWindow.Codec.Read(reader, version);
            }

            var categorical = new CategoricalWindow[reader.ReadInt32()];
            for (var i = 0; i < categorical.Length; i++)
            {
                categorical[i] = CategoricalWindow.Codec.Read(reader, CategoricalWindow.Codec.Version);
            }

            var score = reader.ReadBoolean() ? NumericWindow.Codec.Read(reader, version) : null;
            return new DriftAggregate(numeric, categorical, score) { Count = count };
        }
    }
}

/// <summary>Window counts of one numeric column in the reference cell layout [under, cells…, over].</summary>
public sealed class NumericWindow
{
    /// <summary>Empty window with the given number of cells (reference cells + 2).</summary>
    public NumericWindow(int cells) => CellCounts = new long[cells];

    /// <summary>Counts per cell.</summary>
    public long[] CellCounts { get; }

    /// <summary>Null or NaN values.</summary>
    public long Nulls { get; set; }

    /// <summary>Finite values.</summary>
    public long Count { get; set; }

    /// <summary>Smallest finite value (+∞ when empty).</summary>
    public double Min { get; set; } = double.PositiveInfinity;

    /// <summary>Largest finite value (−∞ when empty).</summary>
    public double Max { get; set; } = double.NegativeInfinity;

    /// <summary>
    /// Counts of the window values outside the reference (<see cref="NumericProfile.IsOutsideCell"/>: not a reference
    /// value of a discrete column, below or above the range of a continuous one), by value: the first
    /// <see cref="DriftAggregate.MaxTrackedOutsideValues"/> distinct ones of each aggregate. They are in
    /// <see cref="CellCounts"/> too; their positions make Wasserstein exact in those cells.
    /// </summary>
    public SortedDictionary<double, long> OutsideValues { get; } = [];

    /// <summary>Adds a value (null or non-finite counts as null).</summary>
    public void Add(NumericProfile profile, double? value)
    {
        ArgumentNullException.ThrowIfNull(profile);
        if (value is not { } v || !double.IsFinite(v))
        {
            Nulls++;
            return;
        }

        Count++;
        var cell = profile.WindowCellOf(v);
        CellCounts[cell]++;
        Min = Math.Min(Min, v);
        Max = Math.Max(Max, v);
        if (profile.IsOutsideCell(cell) && (OutsideValues.Count < DriftAggregate.MaxTrackedOutsideValues || OutsideValues.ContainsKey(v)))
        {
            // -0.0 and 0.0 are one value: key by +0 so the map's keys are the values' positions.
            var key = v == 0 ? 0.0 : v;
            OutsideValues[key] = OutsideValues.GetValueOrDefault(key) + 1;
        }
    }

    /// <summary>Adds another window's counts.</summary>
    public void MergeFrom(NumericWindow other)
    {
        ArgumentNullException.ThrowIfNull(other);
        for (var i = 0; i < CellCounts.Length; i++)
        {
            CellCounts[i] += other.CellCounts[i];
        }

        Nulls += other.Nulls;
        Count += other.Count;
        Min = Math.Min(Min, other.Min);
        Max = Math.Max(Max, other.Max);
        foreach (var (value, count) in other.OutsideValues)
        {
            OutsideValues[value] = OutsideValues.GetValueOrDefault(value) + count;
        }
    }

    /// <summary>
    /// The binary format, stored inside a <see cref="DriftAggregate"/> without a version byte of its own (its versions
    /// are the aggregate's): only the non-zero cells (most are zero in a short window), then, from version 2, the
    /// values outside the reference.
    /// </summary>
    public static IStateCodec<NumericWindow> Codec { get; } = new Format();

    private sealed class Format : IStateCodec<NumericWindow>
    {
        public byte Version => 2;

        public void Write(BinaryWriter writer, NumericWindow value)
        {
            ArgumentNullException.ThrowIfNull(writer);
            ArgumentNullException.ThrowIfNull(value);
            writer.Write(value.CellCounts.Length);
            writer.Write(value.Nulls);
            writer.Write(value.Count);
            writer.Write(value.Min);
            writer.Write(value.Max);
            writer.Write(value.CellCounts.Count(c => c != 0));
            for (var i = 0; i < value.CellCounts.Length; i++)
            {
                if (value.CellCounts[i] != 0)
                {
                    writer.Write(i);
                    writer.Write(value.CellCounts[i]);
                }
            }

            writer.Write(value.OutsideValues.Count);
            foreach (var (outside, count) in value.OutsideValues)
            {
                writer.Write(outside);
                writer.Write(count);
            }
        }

        public NumericWindow Read(BinaryReader reader, byte version)
        {
            ArgumentNullException.ThrowIfNull(reader);
            var window = new NumericWindow(reader.ReadInt32()) { Nulls = reader.ReadInt64(), Count = reader.ReadInt64(), Min = reader.ReadDouble(), Max = reader.ReadDouble() };
            var nonZero = reader.ReadInt32();
            for (var i = 0; i < nonZero; i++)
            {
                window.CellCounts[reader.ReadInt32()] = reader.ReadInt64();
            }

            var outside = version >= 2 ? reader.ReadInt32() : 0;
            for (var i = 0; i < outside; i++)
            {
                window.OutsideValues[reader.ReadDouble()] = reader.ReadInt64();
            }

            return window;
        }
    }
}

/// <summary>Window counts of one categorical column.</summary>
public sealed class CategoricalWindow
{
    /// <summary>Count per category (ordinal order).</summary>
    public SortedDictionary<string, long> Counts { get; } = new(StringComparer.Ordinal);

    /// <summary>Null values.</summary>
    public long Nulls { get; set; }

    /// <summary>Non-null values.</summary>
    public long Count { get; set; }

    /// <summary>Adds a value.</summary>
    public void Add(CategoricalProfile profile, string? value)
    {
        ArgumentNullException.ThrowIfNull(profile);
        if (value is null)
        {
            Nulls++;
            return;
        }

        Count++;
        if (!profile.Frequencies.ContainsKey(value) && !Counts.ContainsKey(value) && Counts.Count >= DriftAggregate.MaxTrackedCategories)
        {
            value = DriftAggregate.OtherCategory;
        }

        Counts[value] = Counts.GetValueOrDefault(value) + 1;
    }

    /// <summary>Adds another window's counts.</summary>
    public void MergeFrom(CategoricalWindow other)
    {
        ArgumentNullException.ThrowIfNull(other);
        Nulls += other.Nulls;
        Count += other.Count;
        foreach (var (category, count) in other.Counts)
        {
            Counts[category] = Counts.GetValueOrDefault(category) + count;
        }
    }

    /// <summary>The binary format (version 1), stored inside a <see cref="DriftAggregate"/> without a version byte of its own.</summary>
    public static IStateCodec<CategoricalWindow> Codec { get; } = new Format();

    private sealed class Format : IStateCodec<CategoricalWindow>
    {
        public byte Version => 1;

        public void Write(BinaryWriter writer, CategoricalWindow value)
        {
            ArgumentNullException.ThrowIfNull(writer);
            ArgumentNullException.ThrowIfNull(value);
            writer.Write(value.Nulls);
            writer.Write(value.Count);
            writer.Write(value.Counts.Count);
            foreach (var (category, count) in value.Counts)
            {
                writer.Write(category);
                writer.Write(count);
            }
        }

        public CategoricalWindow Read(BinaryReader reader, byte version)
        {
            ArgumentNullException.ThrowIfNull(reader);
            var window = new CategoricalWindow { Nulls = reader.ReadInt64(), Count = reader.ReadInt64() };
            var categories = reader.ReadInt32();
            for (var i = 0; i < categories; i++)
            {
                window.Counts[reader.ReadString()] = reader.ReadInt64();
            }

            return window;
        }
    }
}
