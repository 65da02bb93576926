using System.Globalization;
using System.Text;
using ScottPlot;
using StreamMonitor.Contracts;

namespace StreamMonitor.Reports;

/// <summary>
/// Writes a postmortem for an event-time range: report.md with four PNG charts (end-to-end latency percentiles, SLO
/// burn rates with alert spans, drift per feature, accuracy with label coverage), the summary tables and the alert
/// timeline. Everything comes from the compacted result topics of one namespace (live or a replay).
/// </summary>
public static class PostmortemReport
{
    private const int Width = 1100;
    private const int Height = 480;

    /// <summary>Writes the report into <paramref name="outputDirectory"/> (created if missing); returns the Markdown path.</summary>
    public static string Write(ResultLog log, EventTimeRange range, IReadOnlyList<EventTimeRange> phases, string title, string outputDirectory)
    {
        ArgumentNullException.ThrowIfNull(log);
        ArgumentNullException.ThrowIfNull(range);
        ArgumentNullException.ThrowIfNull(phases);
        Directory.CreateDirectory(outputDirectory);
        var incidents = log.Incidents().Where(i => i.FiredAtMs < range.EndMs && (i.ResolvedAtMs ?? long.MaxValue) >= range.StartMs).ToList();

        var charts = new List<(string File, string Caption)>
        {
            (LatencyChart(log, range, Path.Combine(outputDirectory, "latency.png")), "End-to-end latency percentiles per window (HdrHistogram, relative error at most 1%)."),
            (BurnRateChart(log, range, incidents, Path.Combine(outputDirectory, "burn-rates.png")), "Burn rate of each SLO tier on its long window; dashed: the tier's threshold; shaded: SLO alerts firing."),
            (DriftChart(log, range, Path.Combine(outputDirectory, "drift.png")), "Drift score per feature (features that drifted at least once, plus the top scores); dashed: threshold."),
            (QualityChart(log, range, Path.Combine(outputDirectory, "quality.png")), "Realized accuracy of labeled predictions per window (left) and label coverage (right)."),
        };

        var summary = RunSummary.Create(log, phases.Count > 0 ? [range, .. phases] : [range]);
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"# {title}");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Event-time range: {Iso(range.StartMs)} to {Iso(range.EndMs)}. All times are event times (UTC).");
        md.AppendLine();
        md.AppendLine("## Alerts");
        md.AppendLine();
        SummaryMarkdown.AppendAlerts(md, incidents);
        foreach (var (file, caption) in charts)
        {
            md.AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture, $"![{caption}]({file})");
            md.AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture, $"*{caption}*");
        }

        md.AppendLine();
        SummaryMarkdown.AppendRanges(md, summary);
        var path = Path.Combine(outputDirectory, "report.md");
        File.WriteAllText(path, md.ToString());
        return path;
    }

    private static string LatencyChart(ResultLog log, EventTimeRange range, string path)
    {
        var plot = NewPlot("End-to-end latency", "ms");
        var size = log.WindowSizes(WindowKind.Latency).FirstOrDefault();
        foreach (var group in log.Latency.Values.Where(w => w.WindowSizeMs == size && range.ContainsWindow(w.WindowStartMs))
                     .GroupBy(w => $"{w.ModelName} v{w.ModelVersion}").OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var points = group.OrderBy(w => w.WindowStartMs).Select(w => (w.WindowStartMs, Stage: w.Stages.FirstOrDefault(s => s.Stage == "e2e")))
                .Where(p => p.Stage is not null).ToList();
            if (points.Count == 0)
            {
                continue;
            }

            var xs = points.Select(p => X(p.WindowStartMs)).ToArray();
            AddLine(plot, xs, points.Select(p => p.Stage!.P50Us / 1000.0).ToArray(), $"{group.Key} p50");
            AddLine(plot, xs, points.Select(p => p.Stage!.P99Us / 1000.0).ToArray(), $"{group.Key} p99");
        }

        return Save(plot, path);
    }

    private static string BurnRateChart(ResultLog log, EventTimeRange range, List<AlertIncident> incidents, string path)
    {
        var plot = NewPlot("SLO burn rates (long window)", "burn rate (x budget)");
        foreach (var incident in incidents.Where(i => i.Fired.Kind == AlertKind.SLO_BURN_RATE))
        {
            var span = plot.Add.HorizontalSpan(X(Math.Max(incident.FiredAtMs, range.StartMs)), X(Math.Min(incident.ResolvedAtMs ?? range.EndMs, range.EndMs)));
            span.FillStyle.Color = Colors.Red.WithAlpha(0.15);
            span.LineStyle.Width = 0;
        }

        var series = log.SloHistory.Where(s => s.EvaluatedAtMs >= range.StartMs && s.EvaluatedAtMs < range.EndMs)
            .SelectMany(s => s.Tiers.Select(t => (s.Slo, s.EvaluatedAtMs, Tier: t)))
            .GroupBy(x => (x.Slo, x.Tier.Name))
            .OrderBy(g => g.Key.Slo, StringComparer.Ordinal).ThenBy(g => g.Key.Name, StringComparer.Ordinal);
        foreach (var group in series)
        {
            var points = group.Where(x => x.Tier.LongBurnRate is not null).OrderBy(x => x.EvaluatedAtMs).ToList();
            if (points.Count == 0)
            {
                continue;
            }

            var line = AddLine(plot, points.Select(p => X(p.EvaluatedAtMs)).ToArray(), points.Select(p => p.Tier.LongBurnRate!.Value).ToArray(), $"{group.Key.Slo} {group.Key.Name}");
            var threshold = plot.Add.HorizontalLine(points[0].Tier.BurnRateThreshold);
            threshold.LinePattern = LinePattern.Dashed;
            threshold.Color = line.Color;
            threshold.LineWidth = 1;
        }

        return Save(plot, path);
    }

    private static string DriftChart(ResultLog log, EventTimeRange range, string path)
    {
        var plot = NewPlot("Feature drift", "drift score");
        var size = log.WindowSizes(WindowKind.Drift).FirstOrDefault();
        var windows = log.Drift.Values.Where(w => w.WindowSizeMs == size && range.ContainsWindow(w.WindowStartMs)).OrderBy(w => w.WindowStartMs).ToList();
        var features = windows.SelectMany(w => w.Features.Select(f => (w.WindowStartMs, f)))
            .GroupBy(x => x.f.Feature)
            .Select(g => (Feature: g.Key, Points: g.ToList(), Drifted: g.Any(x => x.f.Drifted), Max: g.Max(x => x.f.DriftScore)))
            .OrderByDescending(f => f.Drifted).ThenByDescending(f => f.Max)
            .Take(8)
            .ToList();
        double? threshold = null;
        foreach (var feature in features)
        {
            AddLine(plot, feature.Points.Select(p => X(p.WindowStartMs)).ToArray(), feature.Points.Select(p => p.f.DriftScore).ToArray(), feature.Feature);
            threshold ??= feature.Points[0].f.Threshold;
        }

        if (threshold is { } t)
        {
            var line = plot.Add.HorizontalLine(t);
            line.LinePattern = LinePattern.Dashed;
            line.Color = Colors.Black;
            line.LegendText = "threshold";
        }

        return Save(plot, path);
    }

    private static string QualityChart(ResultLog log, EventTimeRange range, string path)
    {
        var plot = NewPlot("Realized accuracy and label coverage", "accuracy");
        var size = log.WindowSizes(WindowKind.Quality).LastOrDefault();
        foreach (var group in log.Quality.Values.Where(w => w.WindowSizeMs == size && range.ContainsWindow(w.WindowStartMs))
                     .GroupBy(w => $"{w.ModelName} v{w.ModelVersion}").OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var windows = group.OrderBy(w => w.WindowStartMs).ToList();
            var labeled = windows.Where(w => w.Accuracy is not null).ToList();
            if (labeled.Count > 0)
            {
                AddLine(plot, labeled.Select(w => X(w.WindowStartMs)).ToArray(), labeled.Select(w => w.Accuracy!.Value).ToArray(), $"{group.Key} accuracy");
            }

            var coverage = AddLine(plot, windows.Select(w => X(w.WindowStartMs)).ToArray(), windows.Select(w => w.LabelCoverage).ToArray(), $"{group.Key} label coverage");
            coverage.LinePattern = LinePattern.Dotted;
            coverage.Axes.YAxis = plot.Axes.Right;
        }

        plot.Axes.Right.Label.Text = "label coverage";
        var saved = Save(plot, path, () =>
        {
            plot.Axes.SetLimitsY(0, 1.05, plot.Axes.Right);
            plot.Axes.SetLimitsY(0, 1.05, plot.Axes.Left);
        });
        return saved;
    }

    private static Plot NewPlot(string title, string yLabel)
    {
        var plot = new Plot();
        plot.Title(title);
        plot.YLabel(yLabel);
        plot.XLabel("event time (UTC)");
        plot.Axes.DateTimeTicksBottom();
        return plot;
    }

    private static ScottPlot.Plottables.Scatter AddLine(Plot plot, double[] xs, double[] ys, string legend)
    {
        var line = plot.Add.Scatter(xs, ys);
        line.LegendText = legend;
        line.MarkerSize = xs.Length == 1 ? 6 : 0;
        line.LineWidth = 2;
        return line;
    }

    private static string Save(Plot plot, string path, Action? beforeRender = null)
    {
        if (plot.GetPlottables().Any(p => p is ScottPlot.Plottables.Scatter))
        {
            plot.ShowLegend(Alignment.UpperLeft);
        }
        else
        {
            plot.Add.Annotation("no data in this range");
        }

        beforeRender?.Invoke();
        plot.SavePng(path, Width, Height);
        return Path.GetFileName(path);
    }

    private static double X(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms).UtcDateTime.ToOADate();

    private static string Iso(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms).ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
