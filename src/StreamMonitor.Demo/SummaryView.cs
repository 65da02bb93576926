using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;
using StreamMonitor.Contracts;
using StreamMonitor.Reports;

namespace StreamMonitor.Demo;

/// <summary>Where a finished demo left its data.</summary>
public sealed record DemoLocations(string BootstrapServers, string InfluxUrl, string InfluxDatabase, IReadOnlyList<string> Topics, string DashboardsDirectory, string WorkDirectory, string SummaryFile);

/// <summary>Renders a <see cref="RunSummary"/> as Spectre.Console tables: per phase latency, drift, quality; then alerts and where to look.</summary>
public static class SummaryView
{
    /// <summary>Everything to print at the end of a demo.</summary>
    public static IEnumerable<IRenderable> Render(RunSummary summary, DemoLocations where)
    {
        ArgumentNullException.ThrowIfNull(summary);
        ArgumentNullException.ThrowIfNull(where);
        yield return new Rule("[bold]Summary (event time)[/]");
        foreach (var range in summary.Ranges)
        {
            yield return new Markup($"[bold]{Markup.Escape(range.Range.Name)}[/]  {Markup.Escape(SummaryMarkdown.Time(range.Range.StartMs))} to {Markup.Escape(SummaryMarkdown.Time(range.Range.EndMs))}");
            var latency = new Table().Border(TableBorder.Simple).Title("latency, end to end (ms)")
                .AddColumns("model", "version", "events", "errors", "p50", "p95", "p99", "p99.9", "max", "method");
            foreach (var l in range.Latency)
            {
                latency.AddRow(Esc(l.Model), Esc(l.Version), N(l.Count), N(l.Errors), F(l.P50Ms), F(l.P95Ms), F(l.P99Ms), F(l.P999Ms), F(l.MaxMs), l.Exact ? "merged HdrHistogram" : "worst window");
            }

            yield return range.Latency.Count == 0 ? new Markup("  no closed latency window in this phase") : latency;
            if (range.Drifted.Count == 0)
            {
                yield return new Markup("  drifted features: none");
            }
            else
            {
                var drift = new Table().Border(TableBorder.Simple).Title("drifted features").AddColumns("model", "feature", "method", "worst score", "threshold", "drifted windows");
                foreach (var d in range.Drifted)
                {
                    drift.AddRow(Esc(d.Model), Esc(d.Feature), Esc(d.Method), F(d.WorstScore, "F3"), F(d.Threshold, "F3"), $"{d.DriftedWindows}/{d.Windows}");
                }

                yield return drift;
            }

            var quality = new Table().Border(TableBorder.Simple).Title("realized quality (labels arrived so far)").AddColumns("model", "version", "predictions", "labeled", "coverage", "accuracy");
            foreach (var q in range.Quality)
            {
                quality.AddRow(Esc(q.Model), Esc(q.Version), N(q.Predictions), N(q.Labeled), SummaryMarkdown.Percent(q.LabelCoverage), q.Accuracy is { } a ? SummaryMarkdown.Percent(a) : "no labels");
            }

            yield return range.Quality.Count == 0 ? new Markup("  no quality window in this phase") : quality;
        }

        var alerts = new Table().Border(TableBorder.Rounded).Title("alerts").AddColumns("alert", "kind", "severity", "fired", "resolved", "value", "threshold");
        foreach (var i in summary.Alerts)
        {
            alerts.AddRow(Esc(i.Fired.Name), i.Fired.Kind.ToString(), Esc(i.Fired.Severity), SummaryMarkdown.Time(i.FiredAtMs), i.ResolvedAtMs is { } r ? SummaryMarkdown.Time(r) : "[red]still firing[/]", Esc(AlertValues.Value(i.Fired) is { Length: > 0 } value ? value : "-"), Esc(AlertValues.Threshold(i.Fired) is { Length: > 0 } threshold ? threshold : "-"));
        }

        yield return summary.Alerts.Count == 0 ? new Markup("[bold]alerts:[/] none fired") : alerts;
        yield return new Rule("[bold]Where to look[/]");
        var grid = new Grid().AddColumn().AddColumn();
        grid.AddRow("Kafka", Esc(where.BootstrapServers));
        grid.AddRow("Topics", Esc(string.Join(", ", where.Topics)));
        grid.AddRow("InfluxDB", Esc($"{where.InfluxUrl} database \"{where.InfluxDatabase}\" (influx -host ... -database {where.InfluxDatabase})"));
        grid.AddRow("Dashboards", Esc($"{where.DashboardsDirectory} (Chronograf and Grafana: docker compose up chronograf grafana, see docs/dashboards.md)"));
        if (summary.Ranges.Count > 0)
        {
            grid.AddRow("Dashboard PNGs", Esc($"streammon dashboards render --influx-url {where.InfluxUrl} --database {where.InfluxDatabase} --from {summary.Ranges.Min(r => r.Range.StartMs)} --to {summary.Ranges.Max(r => r.Range.EndMs)} --dashboards-dir {where.DashboardsDirectory} --out {Path.Combine(where.WorkDirectory, "dashboards-png")}"));
        }

        grid.AddRow("Logs and state", Esc(where.WorkDirectory));
        grid.AddRow("This summary", Esc(where.SummaryFile));
        yield return grid;
    }

    private static string Esc(string text) => Markup.Escape(text);

    private static string N(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string F(double value, string format = "F2") => double.IsNaN(value) ? "-" : value.ToString(format, CultureInfo.InvariantCulture);
}
