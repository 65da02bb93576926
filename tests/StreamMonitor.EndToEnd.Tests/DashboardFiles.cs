using System.Text.Json;

namespace StreamMonitor.EndToEnd.Tests;

/// <summary>One query of one dashboard cell.</summary>
internal sealed record DashboardQuery(string Dashboard, string Cell, string Text);

/// <summary>A Chronograf template variable (tagValues) with the query Chronograf runs to fill it.</summary>
internal sealed record DashboardTemplate(string TempVar, string Measurement, string TagKey, string Selected);

/// <summary>Reads the Chronograf dashboards under dashboards/ (export format: {meta, dashboard}).</summary>
internal static class DashboardFiles
{
    public static string Directory => Path.Combine(RepoPaths.Root, "dashboards");

    public static IReadOnlyList<string> Paths() => System.IO.Directory.GetFiles(Directory, "*.dashboard").Order(StringComparer.Ordinal).ToList();

    public static (string Name, IReadOnlyList<DashboardTemplate> Templates, IReadOnlyList<DashboardQuery> Queries) Read(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var board = doc.RootElement.GetProperty("dashboard");
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
}
