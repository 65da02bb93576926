using StreamMonitor.Influx;

namespace StreamMonitor.EndToEnd.Tests;

[Collection(DemoRunCollection.Name)]
public sealed class DashboardQueryTests(DemoRunFixture demo)
{
    [Fact]
    public async Task Every_query_of_every_dashboard_returns_data_after_a_short_demo()
    {
        using var influx = new InfluxQueryClient(demo.Stack.Influx);
        var from = demo.Result.Plan.StartEventTimeMs - 3_600_000;
        var to = demo.Result.Plan.EndEventTimeMs + 3_600_000;
        var empty = new List<string>();
        var checkedQueries = 0;
        foreach (var path in DashboardFiles.Paths())
        {
            var (name, templates, queries) = DashboardFiles.Read(path);
            var values = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var template in templates)
            {
                // As Chronograf does: the selected value if the data has it, else the first value present.
                var series = await influx.QueryAsync($"SHOW TAG VALUES ON \"{demo.Stack.Influx.Database}\" FROM \"{template.Measurement}\" WITH KEY = \"{template.TagKey}\"");
                var present = series.SelectMany(s => s.Rows.Select(r => Convert.ToString(r[s.ColumnIndex("value")], System.Globalization.CultureInfo.InvariantCulture)!)).ToList();
                values[template.TempVar] = present.Contains(template.Selected) ? template.Selected : present.FirstOrDefault() ?? template.Selected;
            }

            foreach (var query in queries)
            {
                var text = DashboardFiles.Substitute(query.Text, from, to, "1m", values);
                var rows = (await influx.QueryAsync(text)).Sum(s => s.Rows.Count);
                checkedQueries++;
                if (rows == 0)
                {
                    empty.Add($"{name} / {query.Cell}: {text}");
                }
            }
        }

        Assert.True(checkedQueries >= 20, $"only {checkedQueries} queries found");
        Assert.True(empty.Count == 0, "queries without data:\n" + string.Join("\n", empty));
    }
}
