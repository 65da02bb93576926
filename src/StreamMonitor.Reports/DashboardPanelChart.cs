using ScottPlot;

namespace StreamMonitor.Reports;

/// <summary>One line of a dashboard panel: a legend and its points (x as UTC epoch milliseconds).</summary>
/// <param name="Legend">Series legend, e.g. "p99 model=cancer version=2".</param>
/// <param name="TimesMs">Point times, UTC epoch milliseconds.</param>
/// <param name="Values">Point values, same length as <paramref name="TimesMs"/>.</param>
public sealed record PanelSeries(string Legend, IReadOnlyList<long> TimesMs, IReadOnlyList<double> Values);

/// <summary>
/// Draws one dashboard panel (a Chronograf cell or Grafana panel) to PNG with the postmortem report's chart style, so
/// what a dashboard user would see can be looked at without the UI.
/// </summary>
public static class DashboardPanelChart
{
    private const int Width = 1100;
    private const int Height = 480;
    private const int InsideLegendMax = 8;
    private const int MaxLegendEntries = 16;

    /// <summary>Writes the panel's series as lines (step lines when <paramref name="steps"/>) and returns the points drawn.</summary>
    /// <param name="title">Panel title.</param>
    /// <param name="yLabel">Y-axis label; may be empty.</param>
    /// <param name="series">Series to draw; none draws a "no data" note.</param>
    /// <param name="steps">Draw as a step plot (state-like values such as firing 0/1).</param>
    /// <param name="path">PNG file to write.</param>
    public static int Save(string title, string yLabel, IReadOnlyList<PanelSeries> series, bool steps, string path)
    {
        ArgumentNullException.ThrowIfNull(series);
        var plot = new Plot();
        plot.Title(title);
        plot.YLabel(yLabel);
        plot.XLabel("time (UTC)");
        plot.Axes.DateTimeTicksBottom();
        var points = 0;
        var drawn = series.Where(s => s.Values.Count > 0).ToList();

        // A legend of dozens of series (one per feature) does not fit: name the ones that peak highest, which are the
        // ones a reader looks for (the drifting feature, the slow stage), and say how many are unnamed.
        var named = drawn.OrderByDescending(s => s.Values.Max()).Take(MaxLegendEntries).ToHashSet();
        if (named.Count < drawn.Count)
        {
            plot.Title($"{title} (legend: the {named.Count} highest of {drawn.Count} series)");
        }

        foreach (var s in drawn)
        {
            var xs = s.TimesMs.Select(ms => DateTimeOffset.FromUnixTimeMilliseconds(ms).UtcDateTime.ToOADate()).ToArray();
            var line = plot.Add.Scatter(xs, s.Values.ToArray());
            line.LegendText = named.Contains(s) ? s.Legend : "";
            line.MarkerSize = xs.Length == 1 ? 6 : 0;
            line.LineWidth = 2;
            line.ConnectStyle = steps ? ConnectStyle.StepHorizontal : ConnectStyle.Straight;
            points += xs.Length;
        }

        if (points > 0 && plot.GetPlottables().Count() <= InsideLegendMax)
        {
            plot.ShowLegend(Alignment.UpperLeft);
        }
        else if (points > 0)
        {
            // A legend of many series (one per feature) would cover the lines: put it beside the plot, smaller.
            plot.Legend.FontSize = 9;
            plot.ShowLegend(Edge.Right);
        }
        else
        {
            plot.Add.Annotation("no data in this range");
        }

        plot.SavePng(path, Width, Height);
        return points;
    }
}
