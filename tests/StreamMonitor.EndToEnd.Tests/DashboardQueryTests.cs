using System.Globalization;
using StreamMonitor.Influx;

namespace StreamMonitor.EndToEnd.Tests;

/// <summary>
/// Every query of the Chronograf and the Grafana dashboards, with the macros filled the way each UI fills them,
/// returns rows on the InfluxDB of the shared short demo run.
/// </summary>
[Collection(DemoRunCollection.Name)]
public sealed class DashboardQueryTests(DemoRunFixture demo)
{
    [Fact]
    public async Task Every_query_of_every_dashboard_returns_data_after_a_short_demo()
    {
        using var influx = new InfluxQueryClient(demo.Stack.Influx);
        var (from, to) = Range();
        var empty = new List<string>();
        var checkedQueries = 0;
        foreach (var path in DashboardFiles.Paths())
        {
            var (name, templates, queries) = DashboardFiles.Read(path);
            var values = await TemplateValuesAsync(influx, templates);
            foreach (var query in queries)
            {
                var text = DashboardFiles.Substitute(query.Text, from, to, "1m", values);
                checkedQueries++;
                if ((await influx.QueryAsync(text)).Sum(s => s.Rows.Count) == 0)
                {
                    empty.Add($"{name} / {query.Cell}: {text}");
                }
            }
        }

        Assert.True(checkedQueries >= 20, $"only {checkedQueries} queries found");
        Assert.True(empty.Count == 0, "queries without data:\n" + string.Join("\n", empty));
    }

    [Fact]
    public async Task Every_panel_query_of_every_grafana_dashboard_returns_data_after_a_short_demo()
    {
        using var influx = new InfluxQueryClient(demo.Stack.Influx);
        var (from, to) = Range();
        var empty = new List<string>();
        var checkedQueries = 0;
        foreach (var path in DashboardFiles.GrafanaPaths())
        {
            var (title, variables, queries) = DashboardFiles.ReadGrafana(path);
            var values = await TemplateValuesAsync(influx, variables);
            foreach (var query in queries)
            {
                var text = DashboardFiles.SubstituteGrafana(query.Text, from, to, TimeSpan.FromMinutes(1), values);
                Assert.DoesNotContain("$", text, StringComparison.Ordinal);
                checkedQueries++;
                if ((await influx.QueryAsync(text)).Sum(s => s.Rows.Count) == 0)
                {
                    empty.Add($"{title} / {query.Cell}: {text}");
                }
            }
        }

        Assert.True(checkedQueries >= 20, $"only {checkedQueries} queries found");
        Assert.True(empty.Count == 0, "queries without data:\n" + string.Join("\n", empty));
    }

    private (long From, long To) Range() => (demo.Result.Plan.StartEventTimeMs - 3_600_000, demo.Result.Plan.EndEventTimeMs + 3_600_000);

    // As both UIs do for a tag-values variable: the selected value if the data has it, else the first value present.
    private async Task<Dictionary<string, string>> TemplateValuesAsync(InfluxQueryClient influx, IReadOnlyList<DashboardTemplate> templates)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var template in templates)
        {
            var series = await influx.QueryAsync($"SHOW TAG VALUES ON \"{demo.Stack.Influx.Database}\" FROM \"{template.Measurement}\" WITH KEY = \"{template.TagKey}\"");
            var present = series.SelectMany(s => s.Rows.Select(r => Convert.ToString(r[s.ColumnIndex("value")], CultureInfo.InvariantCulture)!)).ToList();
            values[template.Variable] = present.Contains(template.Selected) ? template.Selected : present.FirstOrDefault() ?? template.Selected;
        }

        return values;
    }
}
