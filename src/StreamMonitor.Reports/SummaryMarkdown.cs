using System.Globalization;
using System.Text;
using StreamMonitor.Contracts;

namespace StreamMonitor.Reports;

/// <summary>Markdown tables for a <see cref="RunSummary"/> (the demo's summary file and the postmortem report).</summary>
public static class SummaryMarkdown
{
    /// <summary>The whole summary as Markdown.</summary>
    public static string Render(RunSummary summary)
    {
        ArgumentNullException.ThrowIfNull(summary);
        var md = new StringBuilder();
        md.AppendLine("## Alerts");
        md.AppendLine();
        AppendAlerts(md, summary.Alerts);
        md.AppendLine();
        AppendRanges(md, summary);
        return md.ToString();
    }

    /// <summary>Alert incidents: when each fired and resolved (event time).</summary>
    public static void AppendAlerts(StringBuilder md, IReadOnlyList<AlertIncident> incidents)
    {
        ArgumentNullException.ThrowIfNull(md);
        ArgumentNullException.ThrowIfNull(incidents);
        if (incidents.Count == 0)
        {
            md.AppendLine("No alert fired.");
            return;
        }

        md.AppendLine("| alert | kind | severity | fired (event time) | resolved (event time) | value | threshold |");
        md.AppendLine("|---|---|---|---|---|---|---|");
        foreach (var i in incidents)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"| {i.Fired.Name} | {i.Fired.Kind} | {i.Fired.Severity} | {Time(i.FiredAtMs)} | {(i.ResolvedAtMs is { } r ? Time(r) : "still firing")} | {AlertValues.Value(i.Fired)} | {AlertValues.Threshold(i.Fired)} |");
        }
    }

    /// <summary>Per range: latency, drifted features and quality tables.</summary>
    public static void AppendRanges(StringBuilder md, RunSummary summary)
    {
        ArgumentNullException.ThrowIfNull(md);
        ArgumentNullException.ThrowIfNull(summary);
        foreach (var range in summary.Ranges)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"## {range.Range.Name} ({Time(range.Range.StartMs)} to {Time(range.Range.EndMs)})");
            md.AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture, $"Latency (end to end, {summary.LatencyWindowMs / 1000} s windows):");
            md.AppendLine();
            md.AppendLine("| model | version | events | errors | p50 ms | p95 ms | p99 ms | p99.9 ms | max ms | method |");
            md.AppendLine("|---|---|---|---|---|---|---|---|---|---|");
            foreach (var l in range.Latency)
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"| {l.Model} | {l.Version} | {l.Count} | {l.Errors} | {l.P50Ms:F2} | {l.P95Ms:F2} | {l.P99Ms:F2} | {l.P999Ms:F2} | {l.MaxMs:F2} | {(l.Exact ? "merged HdrHistogram" : "worst window")} |");
            }

            md.AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture, $"Drifted features ({summary.DriftWindowMs / 1000} s windows):");
            md.AppendLine();
            if (range.Drifted.Count == 0)
            {
                md.AppendLine("None.");
            }
            else
            {
                md.AppendLine("| model | feature | method | worst score | threshold | drifted windows |");
                md.AppendLine("|---|---|---|---|---|---|");
                foreach (var d in range.Drifted)
                {
                    md.AppendLine(CultureInfo.InvariantCulture, $"| {d.Model} | {d.Feature} | {d.Method} | {d.WorstScore:F3} | {d.Threshold:F3} | {d.DriftedWindows}/{d.Windows} |");
                }
            }

            md.AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture, $"Realized quality ({summary.QualityWindowMs / 1000} s windows, labels that arrived so far):");
            md.AppendLine();
            md.AppendLine("| model | version | predictions | labeled | coverage | accuracy | expired unlabeled |");
            md.AppendLine("|---|---|---|---|---|---|---|");
            foreach (var q in range.Quality)
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"| {q.Model} | {q.Version} | {q.Predictions} | {q.Labeled} | {Percent(q.LabelCoverage)} | {(q.Accuracy is { } a ? Percent(a) : "no labels")} | {q.ExpiredUnlabeled} |");
            }

            md.AppendLine();
        }
    }

    /// <summary>An event time as ISO-8601 UTC.</summary>
    public static string Time(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms).ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>A share as a percentage with one decimal, e.g. "80.0%".</summary>
    public static string Percent(double share) => (share * 100).ToString("F1", CultureInfo.InvariantCulture) + "%";
}
