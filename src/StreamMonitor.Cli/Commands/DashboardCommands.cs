using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using StreamMonitor.Contracts;
using StreamMonitor.Influx;
using StreamMonitor.Reports;

namespace StreamMonitor.Cli.Commands;

/// <summary>
/// `streammon dashboards render`: draws every cell of the Chronograf dashboards (dashboards/*.dashboard, the files the
/// Chronograf and Grafana dashboards share their queries with) to PNG from the same InfluxQL, with the macros filled
/// as Chronograf fills them, so what a dashboard user would see can be looked at where neither UI runs.
/// </summary>
public static class DashboardCommands
{
    // Group-by intervals to choose from, as Chronograf/Grafana round theirs: the smallest that keeps a panel under
    // ~MaxPoints points per series over the range.
    private static readonly TimeSpan[] NiceIntervals =
    [
        TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(10),
        TimeSpan.FromMinutes(30), TimeSpan.FromHours(1), TimeSpan.FromHours(6), TimeSpan.FromDays(1),
    ];

    private const int MaxPoints = 600;

    /// <summary>The `dashboards` verb with its sub-verbs.</summary>
    public static Command Create()
    {
        var dashboards = new Command("dashboards", "The Chronograf/Grafana dashboards of dashboards/.");
        dashboards.Add(CreateRender());
        return dashboards;
    }

    private static Command CreateRender()
    {
        var url = new Option<string>("--influx-url") { Description = "InfluxDB URL.", DefaultValueFactory = _ => "http://127.0.0.1:8086" };
        var database = new Option<string>("--database") { Description = "Database to query; the dashboards' \"streammon\" database prefix is replaced by it.", DefaultValueFactory = _ => "streammon" };
        var from = new Option<string>("--from") { Description = "Start of the time range (ISO-8601 or epoch ms).", Required = true };
        var to = new Option<string>("--to") { Description = "End of the time range (ISO-8601 or epoch ms).", Required = true };
        var name = new Option<string?>("--dashboard") { Description = "Only this dashboard: its file name without extension (e.g. overview) or its name; default all." };
        var directory = new Option<DirectoryInfo>("--dashboards-dir") { Description = "Folder of the Chronograf .dashboard files.", DefaultValueFactory = _ => new DirectoryInfo("dashboards") };
        var interval = new Option<string?>("--interval") { Description = "GROUP BY time interval (:interval:), e.g. 1m; default from the range (about 600 points)." };
        var output = new Option<DirectoryInfo>("--out") { Description = "Folder for the PNGs: <dashboard>/<nn>-<cell>.png.", Required = true };
        var command = new Command("render", "Draw every cell of the dashboards to PNG from their queries against InfluxDB; prints rows and points per cell.")
        {
            url, database, from, to, name, directory, interval, output,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (!CliTime.TryParseEventTime(parse.GetValue(from), out var fromMs) || !CliTime.TryParseEventTime(parse.GetValue(to), out var toMs) || toMs <= fromMs)
            {
                await Console.Error.WriteLineAsync("--from and --to must be times (ISO-8601 or epoch ms) with --from before --to.");
                return 2;
            }

            var groupBy = parse.GetValue(interval);
            if (groupBy is not null && !Durations.TryParse(groupBy, out _))
            {
                await Console.Error.WriteLineAsync("--interval must be a duration such as 30s, 1m, 1h.");
                return 2;
            }

            var files = parse.GetValue(directory)!.Exists ? parse.GetValue(directory)!.GetFiles("*.dashboard").OrderBy(f => f.Name, StringComparer.Ordinal).ToList() : [];
            var boards = files.Select(f => Board.Load(f.FullName)).Where(b => parse.GetValue(name) is not { } only || b.Stem == only || b.Name == only).ToList();
            if (boards.Count == 0)
            {
                await Console.Error.WriteLineAsync($"No dashboard found in {parse.GetValue(directory)!.FullName}{(parse.GetValue(name) is { } n ? $" named {n}" : "")}.");
                return 2;
            }

            var options = new InfluxOptions { Url = parse.GetValue(url)!, Database = parse.GetValue(database)! };
            using var influx = new InfluxQueryClient(options);
            var intervalText = groupBy ?? AutoInterval(toMs - fromMs);
            var outDir = parse.GetValue(output)!.FullName;
            foreach (var board in boards)
            {
                var folder = Path.Combine(outDir, board.Stem);
                Directory.CreateDirectory(folder);
                var values = new Dictionary<string, string>(StringComparer.Ordinal);
                foreach (var template in board.Templates)
                {
                    values[template.TempVar] = await TemplateValueAsync(influx, options.Database, template, cancellationToken);
                }

                for (var i = 0; i < board.Cells.Count; i++)
                {
                    var cell = board.Cells[i];
                    var series = new List<PanelSeries>();
                    var rows = 0;
                    foreach (var query in cell.Queries)
                    {
                        var text = Substitute(query, fromMs, toMs, intervalText, values, options.Database);
                        foreach (var result in await influx.QueryAsync(text, cancellationToken))
                        {
                            rows += result.Rows.Count;
                            series.AddRange(ToSeries(result));
                        }
                    }

                    series = ShortenLegends(series);
                    var file = Path.Combine(folder, $"{i + 1:D2}-{Slug(cell.Name)}.png");
                    var points = DashboardPanelChart.Save(cell.Name, cell.YLabel, series, cell.Type == "line-stepplot", file);
                    Console.WriteLine($"{board.Stem} / {cell.Name}: rows={rows} points={points} -> {Path.GetRelativePath(outDir, file)}");
                }
            }

            Console.WriteLine($"Rendered to {outDir} (interval {intervalText})");
            return 0;
        });
        return command;
    }

    /// <summary>Chronograf's substitution: the range as epoch-ms literals, :interval:, template values, and the database.</summary>
    private static string Substitute(string query, long fromMs, long toMs, string interval, IReadOnlyDictionary<string, string> values, string database)
    {
        var text = query
            .Replace(":dashboardTime:", $"{fromMs}ms", StringComparison.Ordinal)
            .Replace(":upperDashboardTime:", $"{toMs}ms", StringComparison.Ordinal)
            .Replace(":interval:", interval, StringComparison.Ordinal)
            .Replace("FROM \"streammon\".", $"FROM {InfluxQl.Identifier(database)}.", StringComparison.Ordinal);
        foreach (var (key, value) in values)
        {
            text = text.Replace(key, value, StringComparison.Ordinal);
        }

        return text;
    }

    // As Chronograf does: the template's selected value if the data has it, else the first value present.
    private static async Task<string> TemplateValueAsync(InfluxQueryClient influx, string database, Template template, CancellationToken cancellationToken)
    {
        var series = await influx.QueryAsync($"SHOW TAG VALUES ON {InfluxQl.Identifier(database)} FROM {InfluxQl.Identifier(template.Measurement)} WITH KEY = {InfluxQl.Identifier(template.TagKey)}", cancellationToken);
        var present = series.SelectMany(s => s.StringColumn("value")).OfType<string>().ToList();
        return present.Contains(template.Selected, StringComparer.Ordinal) ? template.Selected : present.FirstOrDefault() ?? template.Selected;
    }

    // Every numeric column but time becomes a line, labelled with the series' group-by tags; text columns (a table
    // cell's alert state) have no line to draw.
    private static IEnumerable<PanelSeries> ToSeries(InfluxSeries result)
    {
        if (!result.HasColumn("time"))
        {
            yield break;
        }

        var times = result.Int64Column("time");
        var tags = string.Join(' ', result.Tags.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => $"{t.Key}={t.Value}"));
        foreach (var column in result.Columns.Where(c => c != "time"))
        {
            var index = result.ColumnIndex(column);
            var xs = new List<long>();
            var ys = new List<double>();
            for (var r = 0; r < result.Rows.Count; r++)
            {
                var y = result.Rows[r][index] switch { double d => d, long l => l, bool b => b ? 1 : 0, _ => (double?)null };
                if (y is { } value && times[r] is { } t && double.IsFinite(value))
                {
                    xs.Add(t);
                    ys.Add(value);
                }
            }

            if (xs.Count > 0)
            {
                yield return new PanelSeries(tags.Length == 0 ? column : $"{column} {tags}", xs, ys);
            }
        }
    }

    // Words every legend of a cell shares (the column of a one-field query, a tag with one value) say nothing: drop
    // them so that a cell of many series (one per feature) keeps a legend that fits beside the plot.
    private static List<PanelSeries> ShortenLegends(List<PanelSeries> series)
    {
        if (series.Count < 2)
        {
            return series;
        }

        var common = series.Select(s => s.Legend.Split(' ').ToHashSet(StringComparer.Ordinal)).Aggregate((a, b) => { a.IntersectWith(b); return a; });
        return series.Select(s =>
        {
            var kept = s.Legend.Split(' ').Where(w => !common.Contains(w)).ToArray();
            return kept.Length == 0 ? s : s with { Legend = string.Join(' ', kept) };
        }).ToList();
    }

    private static string AutoInterval(long rangeMs)
    {
        var wanted = TimeSpan.FromMilliseconds((double)rangeMs / MaxPoints);
        var chosen = NiceIntervals.FirstOrDefault(i => i >= wanted, NiceIntervals[^1]);
        return chosen.TotalDays >= 1 ? $"{chosen.TotalDays:0}d" : chosen.TotalHours >= 1 ? $"{chosen.TotalHours:0}h" : chosen.TotalMinutes >= 1 ? $"{chosen.TotalMinutes:0}m" : $"{chosen.TotalSeconds:0}s";
    }

    private static string Slug(string name)
    {
        var slug = new StringBuilder();
        foreach (var c in name.ToLowerInvariant())
        {
            slug.Append(char.IsAsciiLetterOrDigit(c) ? c : '-');
        }

        return string.Join('-', slug.ToString().Split('-', StringSplitOptions.RemoveEmptyEntries));
    }

    private sealed record Template(string TempVar, string Measurement, string TagKey, string Selected);

    private sealed record Cell(string Name, string Type, string YLabel, IReadOnlyList<string> Queries);

    // The fields of chronograf.Dashboard the renderer needs, read from a resources (.dashboard) file.
    private sealed record Board(string Stem, string Name, IReadOnlyList<Template> Templates, IReadOnlyList<Cell> Cells)
    {
        public static Board Load(string path)
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            var root = doc.RootElement;
            var templates = root.TryGetProperty("templates", out var t) ? t.EnumerateArray().Select(x => new Template(
                x.GetProperty("tempVar").GetString()!,
                x.GetProperty("query").GetProperty("measurement").GetString()!,
                x.GetProperty("query").GetProperty("tagKey").GetString()!,
                x.GetProperty("values").EnumerateArray().Where(v => v.GetProperty("selected").GetBoolean()).Select(v => v.GetProperty("value").GetString()!).FirstOrDefault() ?? "")).ToList() : [];
            var cells = root.GetProperty("cells").EnumerateArray().OrderBy(c => c.GetProperty("y").GetInt32()).ThenBy(c => c.GetProperty("x").GetInt32()).Select(c => new Cell(
                c.GetProperty("name").GetString()!,
                c.GetProperty("type").GetString()!,
                c.TryGetProperty("axes", out var axes) && axes.TryGetProperty("y", out var y) && y.TryGetProperty("label", out var label) ? label.GetString() ?? "" : "",
                c.GetProperty("queries").EnumerateArray().Select(q => q.GetProperty("query").GetString()!).ToList())).ToList();
            return new Board(Path.GetFileNameWithoutExtension(path), root.GetProperty("name").GetString()!, templates, cells);
        }
    }
}
