using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace StreamMonitor.EndToEnd.Tests;

/// <summary>
/// The dashboard files load the way their UIs load them. Chronograf's resources loader (filestore/dashboards.go) runs
/// each *.dashboard file through Go's text/template and json.Unmarshals the result into chronograf.Dashboard; Go's
/// decoder matches keys case-insensitively and ignores unknown ones, so a file in the UI's export wrapper
/// ({"meta", "dashboard"}) loads as an empty, nameless dashboard with id 0. The types below mirror the JSON names of
/// chronograf.Dashboard, DashboardCell, DashboardQuery and Template, and are read the same lenient way.
/// </summary>
public sealed class DashboardFormatTests
{
    // The cell types Chronograf's UI draws (ui/src/types/dashboards.ts CellType).
    private static readonly HashSet<string> CellTypes = new(StringComparer.Ordinal)
    {
        "line", "line-stacked", "line-stepplot", "line-plus-single-stat", "bar", "single-stat", "gauge", "table", "note", "alerts", "news", "guide",
    };

    private static readonly JsonSerializerOptions GoLike = new() { PropertyNameCaseInsensitive = true };

    [Fact]
    public void Resources_files_are_bare_chronograf_dashboards_with_distinct_ids_valid_cells_and_queries()
    {
        var paths = DashboardFiles.Paths();
        Assert.True(paths.Count >= 4, "expected the four dashboards");
        var ids = new Dictionary<int, string>();
        foreach (var path in paths)
        {
            var problems = ChronografProblems(File.ReadAllText(path), ids, Path.GetFileName(path));
            Assert.True(problems.Count == 0, $"{Path.GetFileName(path)}:\n{string.Join("\n", problems)}");
        }
    }

    [Fact]
    public void The_check_rejects_the_export_wrapper_unknown_cell_types_missing_queries_and_duplicate_ids()
    {
        var bare = File.ReadAllText(DashboardFiles.Paths()[0]);
        var wrapped = new JsonObject { ["meta"] = new JsonObject(), ["dashboard"] = JsonNode.Parse(bare) }.ToJsonString();
        Assert.Contains(ChronografProblems(wrapped, [], "wrapped"), p => p.Contains("id 0", StringComparison.Ordinal));

        var unknownType = JsonNode.Parse(bare)!;
        unknownType["cells"]![0]!["type"] = "sparkline";
        Assert.Contains(ChronografProblems(unknownType.ToJsonString(), [], "type"), p => p.Contains("unknown cell type", StringComparison.Ordinal));

        var noQuery = JsonNode.Parse(bare)!;
        noQuery["cells"]![0]!["queries"] = new JsonArray();
        Assert.Contains(ChronografProblems(noQuery.ToJsonString(), [], "query"), p => p.Contains("no query", StringComparison.Ordinal));

        var ids = new Dictionary<int, string>();
        Assert.Empty(ChronografProblems(bare, ids, "first"));
        Assert.Contains(ChronografProblems(bare, ids, "second"), p => p.Contains("duplicate id", StringComparison.Ordinal));

        Assert.Contains(ChronografProblems(bare.Replace("SELECT", "SELECT {{.x}}", StringComparison.Ordinal), [], "template"), p => p.Contains("{{", StringComparison.Ordinal));
    }

    [Fact]
    public void Import_files_wrap_the_same_dashboards_for_the_ui()
    {
        foreach (var path in DashboardFiles.Paths())
        {
            var import = Path.Combine(DashboardFiles.Directory, "chronograf-import", Path.GetFileNameWithoutExtension(path) + ".json");
            Assert.True(File.Exists(import), $"{import} missing");
            var wrapped = JsonNode.Parse(File.ReadAllText(import))!;
            Assert.NotNull(wrapped["meta"]);
            Assert.True(JsonNode.DeepEquals(JsonNode.Parse(File.ReadAllText(path)), wrapped["dashboard"]), $"{import} differs from {Path.GetFileName(path)} (run scripts/generate-dashboards.py)");
        }
    }

    [Fact]
    public void Grafana_dashboards_carry_the_same_panels_and_queries_over_the_provisioned_data_source()
    {
        var datasource = File.ReadAllText(Path.Combine(DashboardFiles.Directory, "grafana", "provisioning", "datasources", "influxdb.yaml"));
        var uids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var path in DashboardFiles.Paths())
        {
            var chronograf = DashboardFiles.Read(path);
            var grafanaPath = Path.Combine(DashboardFiles.GrafanaDirectory, Path.GetFileNameWithoutExtension(path) + ".json");
            Assert.True(File.Exists(grafanaPath), $"{grafanaPath} missing");
            var grafana = DashboardFiles.ReadGrafana(grafanaPath);
            Assert.Equal(chronograf.Name, grafana.Title);
            Assert.Equal(chronograf.Queries.Select(q => q.Cell), grafana.Queries.Select(q => q.Cell));
            Assert.Equal(chronograf.Templates.Select(t => (t.Measurement, t.TagKey, t.Selected)), grafana.Variables.Select(v => (v.Measurement, v.TagKey, v.Selected)));

            // The same InfluxQL once each UI has filled its macros with the same range, interval and values.
            var chronografValues = chronograf.Templates.ToDictionary(t => t.Variable, t => t.Selected, StringComparer.Ordinal);
            var grafanaValues = grafana.Variables.ToDictionary(v => v.Variable, v => v.Selected, StringComparer.Ordinal);
            for (var i = 0; i < chronograf.Queries.Count; i++)
            {
                var expected = DashboardFiles.Substitute(chronograf.Queries[i].Text, 1000, 2000, "1m", chronografValues)
                    .Replace("time > 1000ms AND time < 2000ms", "time >= 1000ms and time <= 2000ms", StringComparison.Ordinal);
                Assert.Equal(expected, DashboardFiles.SubstituteGrafana(grafana.Queries[i].Text, 1000, 2000, TimeSpan.FromMinutes(1), grafanaValues));
            }

            using var doc = JsonDocument.Parse(File.ReadAllText(grafanaPath));
            Assert.True(uids.Add(doc.RootElement.GetProperty("uid").GetString()!), $"{grafanaPath}: duplicate uid");
            foreach (var panel in doc.RootElement.GetProperty("panels").EnumerateArray())
            {
                Assert.Contains(panel.GetProperty("type").GetString(), (string[])["timeseries", "table"]);
                foreach (var target in panel.GetProperty("targets").EnumerateArray())
                {
                    Assert.True(target.GetProperty("rawQuery").GetBoolean());
                    var uid = target.GetProperty("datasource").GetProperty("uid").GetString()!;
                    Assert.Contains($"uid: {uid}", datasource, StringComparison.Ordinal);
                }
            }
        }
    }

    private static List<string> ChronografProblems(string text, Dictionary<int, string> ids, string file)
    {
        var problems = new List<string>();

        // text/template would execute "{{ ... }}" (and fail or rewrite the query); plain JSON passes through unchanged.
        if (text.Contains("{{", StringComparison.Ordinal))
        {
            problems.Add("contains {{, which Go's text/template would execute");
        }

        var board = JsonSerializer.Deserialize<ChronografDashboard>(text, GoLike)!;
        if (board.Id == 0)
        {
            problems.Add("id 0 (is it in the export wrapper? the loader reads bare chronograf.Dashboard objects)");
        }
        else if (!ids.TryAdd(board.Id, file))
        {
            problems.Add($"duplicate id {board.Id} (also {ids[board.Id]})");
        }

        if (string.IsNullOrWhiteSpace(board.Name))
        {
            problems.Add("no name");
        }

        if (board.Cells is not { Count: > 0 })
        {
            problems.Add("no cells");
        }

        var cellIds = new HashSet<string>(StringComparer.Ordinal);
        foreach (var cell in board.Cells ?? [])
        {
            if (!CellTypes.Contains(cell.Type ?? ""))
            {
                problems.Add($"{cell.Name}: unknown cell type '{cell.Type}'");
            }

            if (string.IsNullOrEmpty(cell.I) || !cellIds.Add(cell.I))
            {
                problems.Add($"{cell.Name}: missing or duplicate cell id 'i'");
            }

            if (cell.W <= 0 || cell.H <= 0 || string.IsNullOrWhiteSpace(cell.Name))
            {
                problems.Add($"cell '{cell.Name}': no name or no size");
            }

            if (cell.Queries is not { Count: > 0 } || cell.Queries.Any(q => string.IsNullOrWhiteSpace(q.Query)))
            {
                problems.Add($"{cell.Name}: no query");
            }
        }

        foreach (var template in board.Templates ?? [])
        {
            if (template.TempVar is not { Length: > 2 } v || v[0] != ':' || v[^1] != ':' || template.Query?.Measurement is null || template.Query.TagKey is null
                || template.Values?.Count(x => x.Selected) != 1 || template.Type != "tagValues")
            {
                problems.Add($"template '{template.TempVar}': not a tagValues template with :name:, measurement, tag key and one selected value");
            }
        }

        return problems;
    }

    // chronograf.Dashboard: {id, cells, templates, name, organization}.
    private sealed record ChronografDashboard(
        [property: JsonPropertyName("id")] int Id,
        [property: JsonPropertyName("cells")] List<ChronografCell>? Cells,
        [property: JsonPropertyName("templates")] List<ChronografTemplate>? Templates,
        [property: JsonPropertyName("name")] string? Name,
        [property: JsonPropertyName("organization")] string? Organization);

    // chronograf.DashboardCell (the fields the loader and the UI need; the rest are display options).
    private sealed record ChronografCell(
        [property: JsonPropertyName("i")] string? I,
        [property: JsonPropertyName("x")] int X,
        [property: JsonPropertyName("y")] int Y,
        [property: JsonPropertyName("w")] int W,
        [property: JsonPropertyName("h")] int H,
        [property: JsonPropertyName("name")] string? Name,
        [property: JsonPropertyName("queries")] List<ChronografQuery>? Queries,
        [property: JsonPropertyName("type")] string? Type);

    // chronograf.DashboardQuery: the InfluxQL is in "query" (Command).
    private sealed record ChronografQuery(
        [property: JsonPropertyName("query")] string? Query,
        [property: JsonPropertyName("source")] string? Source,
        [property: JsonPropertyName("type")] string? Type);

    // chronograf.Template / TemplateValue / TemplateQuery.
    private sealed record ChronografTemplate(
        [property: JsonPropertyName("tempVar")] string? TempVar,
        [property: JsonPropertyName("values")] List<ChronografTemplateValue>? Values,
        [property: JsonPropertyName("id")] string? Id,
        [property: JsonPropertyName("type")] string? Type,
        [property: JsonPropertyName("label")] string? Label,
        [property: JsonPropertyName("query")] ChronografTemplateQuery? Query);

    private sealed record ChronografTemplateValue(
        [property: JsonPropertyName("value")] string? Value,
        [property: JsonPropertyName("type")] string? Type,
        [property: JsonPropertyName("selected")] bool Selected);

    private sealed record ChronografTemplateQuery(
        [property: JsonPropertyName("influxql")] string? InfluxQl,
        [property: JsonPropertyName("db")] string? Db,
        [property: JsonPropertyName("measurement")] string? Measurement,
        [property: JsonPropertyName("tagKey")] string? TagKey,
        [property: JsonPropertyName("fieldKey")] string? FieldKey);
}
