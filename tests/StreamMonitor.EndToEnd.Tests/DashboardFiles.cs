using System.Text.Json;
using System.Text.RegularExpressions;

namespace StreamMonitor.EndToEnd.Tests;

/// <summary>One query of one dashboard cell or panel.</summary>
internal sealed record DashboardQuery(string Dashboard, string Cell, string Text);

/// <summary>A template variable over tag values, with the value the dashboard selects by default.</summary>
internal sealed record DashboardTemplate(string Variable, string Measurement, string TagKey, string Selected);

/// <summary>
/// Reads the dashboards under dashboards/: the Chronograf resources files (*.dashboard, bare chronograf.Dashboard
/// objects, the files --resources-path loads) and the Grafana dashboards (grafana/dashboards/*.json).
/// </summary>
internal static partial class DashboardFiles
{
    public static string Directory => Path.Combine(RepoPaths.Root, "dashboards");

    public static string GrafanaDirectory => Path.Combine(Directory, "grafana", "dashboards");

    public static IReadOnlyList<string> Paths() => System.IO.Directory.GetFiles(Directory, "*.dashboard").Order(StringComparer.Ordinal).ToList();

    public static IReadOnlyList<string> GrafanaPaths() => System.IO.Directory.GetFiles(GrafanaDirectory, "*.json").Order(StringComparer.Ordinal).ToList();

    public static (string Name, IReadOnlyList<DashboardTemplate> Templates, IReadOnlyList<DashboardQuery> Queries) Read(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var board = doc.RootElement;
        var name = board.GetProperty("name").GetString()!;
        var templates = board.GetProperty("templates").EnumerateArray().Select(t => new DashboardTemplate(
            t.GetProperty("tempVar").GetString()!,
            t.GetProperty("query").GetProperty("measurement").GetString()!,
            t.GetProperty("query").GetProperty("tagKey").GetString()!,
            t.GetProperty("values").EnumerateArray().First(v => v.GetProperty("selected").GetBoolean()).GetProperty("value").GetString()!)).ToList();
        var queries = board.GetProperty("cells").EnumerateArray().SelectMany(c => c.GetProperty("queries").EnumerateArray().Select(q =>
            new DashboardQuery(name, c.GetProperty("name").GetString()!, q.GetProperty("query").GetString()!))).ToList();
        return (name, templates, queries);
    }

    /// <summary>A Grafana dashboard: its query variables (SHOW TAG VALUES FROM m WITH KEY = k) and every panel target.</summary>
    public static (string Title, IReadOnlyList<DashboardTemplate> Variables, IReadOnlyList<DashboardQuery> Queries) ReadGrafana(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var board = doc.RootElement;
        var title = board.GetProperty("title").GetString()!;
        var variables = board.GetProperty("templating").GetProperty("list").EnumerateArray().Select(v =>
        {
            var match = TagValuesQuery().Match(v.GetProperty("query").GetString()!);
            Assert.True(match.Success, $"{title}: variable {v.GetProperty("name").GetString()} is not a SHOW TAG VALUES query");
            return new DashboardTemplate(v.GetProperty("name").GetString()!, match.Groups[1].Value, match.Groups[2].Value, v.GetProperty("current").GetProperty("value").GetString()!);
        }).ToList();
        var queries = board.GetProperty("panels").EnumerateArray().SelectMany(p => p.GetProperty("targets").EnumerateArray().Select(t =>
            new DashboardQuery(title, p.GetProperty("title").GetString()!, t.GetProperty("query").GetString()!))).ToList();
        return (title, variables, queries);
    }

    /// <summary>Chronograf's substitution: the time range as absolute epoch-ms literals, the group-by interval, template values.</summary>
    public static string Substitute(string query, long fromMs, long toMs, string interval, IReadOnlyDictionary<string, string> templateValues)
    {
        var text = query
            .Replace(":dashboardTime:", $"{fromMs}ms", StringComparison.Ordinal)
            .Replace(":upperDashboardTime:", $"{toMs}ms", StringComparison.Ordinal)
            .Replace(":interval:", interval, StringComparison.Ordinal);
        foreach (var (key, value) in templateValues)
        {
            text = text.Replace(key, value, StringComparison.Ordinal);
        }

        return text;
    }

    /// <summary>
    /// Grafana's InfluxQL datasource for a raw query with an absolute range: $timeFilter is
    /// "time &gt;= {from}ms and time &lt;= {to}ms" (getTimeFilter/getInfluxTime), $__interval and its old alias $interval
    /// the group-by duration, $__interval_ms its milliseconds, and variables ($name, ${name}, [[name]]) their value in
    /// the 'regex' format, which for one value escapes regex metacharacters.
    /// </summary>
    public static string SubstituteGrafana(string query, long fromMs, long toMs, TimeSpan interval, IReadOnlyDictionary<string, string> variables)
    {
        var duration = interval.TotalMinutes >= 1 && interval.TotalMinutes == Math.Floor(interval.TotalMinutes) ? $"{interval.TotalMinutes:0}m" : $"{interval.TotalSeconds:0}s";
        var text = query
            .Replace("$timeFilter", $"time >= {fromMs}ms and time <= {toMs}ms", StringComparison.Ordinal)
            .Replace("$__interval_ms", ((long)interval.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("$__interval", duration, StringComparison.Ordinal)
            .Replace("$interval", duration, StringComparison.Ordinal);
        foreach (var (name, value) in variables.OrderByDescending(v => v.Key.Length))
        {
            var escaped = RegexMeta().Replace(value, @"\$&");
            text = text.Replace("${" + name + "}", escaped, StringComparison.Ordinal)
                .Replace("[[" + name + "]]", escaped, StringComparison.Ordinal)
                .Replace("$" + name, escaped, StringComparison.Ordinal);
        }

        return text;
    }

    [GeneratedRegex("""^SHOW TAG VALUES FROM "([^"]+)" WITH KEY = "([^"]+)"$""")]
    private static partial Regex TagValuesQuery();

    [GeneratedRegex(@"[\\^$*+?.()|[\]{}/]")]
    private static partial Regex RegexMeta();
}
