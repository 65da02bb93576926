using System.Globalization;

namespace StreamMonitor.Influx;

/// <summary>
/// One series of an InfluxQL result: name, group-by tags, columns and rows. Values are <see cref="long"/> (JSON
/// integers, including the time column with epoch=ms), <see cref="double"/>, <see cref="string"/>, <see cref="bool"/>
/// or null.
/// </summary>
public sealed class InfluxSeries
{
    private readonly Dictionary<string, int> _columnIndex;

    /// <summary>Creates a series.</summary>
    public InfluxSeries(string name, IReadOnlyDictionary<string, string> tags, IReadOnlyList<string> columns, IReadOnlyList<IReadOnlyList<object?>> rows)
    {
        ArgumentNullException.ThrowIfNull(columns);
        Name = name;
        Tags = tags;
        Columns = columns;
        Rows = rows;
        _columnIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < columns.Count; i++)
        {
            _columnIndex.TryAdd(columns[i], i);
        }
    }

    /// <summary>Measurement (or statement result) name.</summary>
    public string Name { get; }

    /// <summary>Tags the series is grouped by (GROUP BY); empty otherwise.</summary>
    public IReadOnlyDictionary<string, string> Tags { get; }

    /// <summary>Column names; the first is usually "time".</summary>
    public IReadOnlyList<string> Columns { get; }

    /// <summary>Rows of values, in column order.</summary>
    public IReadOnlyList<IReadOnlyList<object?>> Rows { get; }

    /// <summary>Index of a column.</summary>
    /// <exception cref="KeyNotFoundException">No such column.</exception>
    public int ColumnIndex(string column) =>
        _columnIndex.TryGetValue(column, out var i) ? i : throw new KeyNotFoundException($"Series '{Name}' has no column '{column}' (columns: {string.Join(", ", Columns)}).");

    /// <summary>Whether the series has the column.</summary>
    public bool HasColumn(string column) => _columnIndex.ContainsKey(column);

    /// <summary>A value as a double (integers widen); null when absent.</summary>
    public double? GetDouble(int row, string column) => ToDouble(Rows[row][ColumnIndex(column)], column);

    /// <summary>A value as a long; a float with a fractional part is an error.</summary>
    public long? GetInt64(int row, string column) => ToInt64(Rows[row][ColumnIndex(column)], column);

    /// <summary>A value as a string; null when absent.</summary>
    public string? GetString(int row, string column) => Rows[row][ColumnIndex(column)] switch
    {
        null => null,
        string s => s,
        var other => throw new InvalidCastException($"Column '{column}' holds {other.GetType().Name} {other}, not a string."),
    };

    /// <summary>A value as a bool; null when absent.</summary>
    public bool? GetBoolean(int row, string column) => Rows[row][ColumnIndex(column)] switch
    {
        null => null,
        bool b => b,
        var other => throw new InvalidCastException($"Column '{column}' holds {other.GetType().Name} {other}, not a bool."),
    };

    /// <summary>The "time" column of a row as UTC (queries use epoch=ms).</summary>
    public DateTime GetTime(int row) => DateTimeOffset.FromUnixTimeMilliseconds(GetInt64(row, "time") ?? throw new InvalidCastException("Row has no time.")).UtcDateTime;

    /// <summary>A whole column as doubles.</summary>
    public IReadOnlyList<double?> DoubleColumn(string column)
    {
        var i = ColumnIndex(column);
        return Rows.Select(r => ToDouble(r[i], column)).ToArray();
    }

    /// <summary>A whole column as longs.</summary>
    public IReadOnlyList<long?> Int64Column(string column)
    {
        var i = ColumnIndex(column);
        return Rows.Select(r => ToInt64(r[i], column)).ToArray();
    }

    /// <summary>A whole column as strings.</summary>
    public IReadOnlyList<string?> StringColumn(string column) => Enumerable.Range(0, Rows.Count).Select(r => GetString(r, column)).ToArray();

    /// <summary>The "time" column as UTC times.</summary>
    public IReadOnlyList<DateTime> TimeColumn() => Enumerable.Range(0, Rows.Count).Select(GetTime).ToArray();

    private static double? ToDouble(object? value, string column) => value switch
    {
        null => null,
        double d => d,
        long l => l,
        _ => throw new InvalidCastException($"Column '{column}' holds {value.GetType().Name} {value}, not a number."),
    };

    private static long? ToInt64(object? value, string column) => value switch
    {
        null => null,
        long l => l,
        double d when d == Math.Floor(d) && d >= long.MinValue && d <= long.MaxValue => (long)d,
        _ => throw new InvalidCastException($"Column '{column}' holds {value.GetType().Name} {Convert.ToString(value, CultureInfo.InvariantCulture)}, not an integer."),
    };
}
