using System.Text;

namespace StreamMonitor.Influx;

/// <summary>Quoting for InfluxQL text built from names and values that may contain any character.</summary>
public static class InfluxQl
{
    /// <summary>A double-quoted identifier (measurement, tag key, field key, database).</summary>
    public static string Identifier(string name) => Quote(name, '"');

    /// <summary>A single-quoted string literal (tag values in WHERE clauses).</summary>
    public static string Literal(string value) => Quote(value, '\'');

    private static string Quote(string text, char quote)
    {
        ArgumentNullException.ThrowIfNull(text);
        var sb = new StringBuilder(text.Length + 2).Append(quote);
        foreach (var c in text)
        {
            if (c == quote || c == '\\')
            {
                sb.Append('\\');
            }

            sb.Append(c);
        }

        return sb.Append(quote).ToString();
    }
}
