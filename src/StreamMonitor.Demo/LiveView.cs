using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;
using StreamMonitor.Contracts;
using StreamMonitor.Reports;
using StreamMonitor.Traffic;

namespace StreamMonitor.Demo;

/// <summary>
/// The demo's live table: traffic progress and what the monitor computed so far, read back from the result topics
/// (so it shows what the system knows, not what the generator intended). Latency is the latest closed window per
/// model version; accuracy is over the last hour of event time with labels that have arrived.
/// </summary>
public static class LiveView
{
    private const long AccuracySpanMs = 3_600_000;

    /// <summary>Builds the table for one refresh.</summary>
    public static IRenderable Render(TrafficPlan plan, TrafficProgress progress, ResultLog log)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(progress);
        ArgumentNullException.ThrowIfNull(log);
        var table = new Table().Border(TableBorder.Rounded).Title("[bold]StreamMonitor demo[/]").AddColumn("What").AddColumn("Now");
        var phase = plan.Phases[progress.PhaseIndex];
        table.AddRow("Phase", Markup.Escape($"{phase.Name} ({progress.PhaseIndex + 1}/{plan.Phases.Count})  wall {progress.WallSeconds:F0}/{progress.PlannedWallSeconds:F0} s"));
        table.AddRow("Event time", progress.LastEventTimeMs == 0 ? "-" : Markup.Escape($"{SummaryMarkdown.Time(progress.LastEventTimeMs)}  ({plan.Options.TimeCompression:F0}x compressed)"));
        var rate = progress.WallSeconds > 0 ? progress.FeaturesProduced / progress.WallSeconds : 0;
        table.AddRow("Produced", Markup.Escape(string.Create(CultureInfo.InvariantCulture, $"{progress.FeaturesProduced} events ({rate:F1}/s), {progress.LabelsProduced} labels, {progress.DeliveryErrors} delivery errors")));
        table.AddRow("Latency p99 (e2e)", Markup.Escape(LatencyLine(log)));
        table.AddRow("Drift", Markup.Escape(DriftLine(log)));
        table.AddRow("Accuracy (last hour)", Markup.Escape(AccuracyLine(log)));
        table.AddRow("Alerts", AlertLine(log));
        table.AddRow("Results read", Markup.Escape(string.Create(CultureInfo.InvariantCulture, $"{log.Latency.Count} latency, {log.Drift.Count} drift, {log.Quality.Count} quality windows; {log.SloHistory.Count} SLO evaluations; {log.AlertHistory.Count} alert records")));
        return table;
    }

    /// <summary>A one-line version for non-interactive output (logs, CI).</summary>
    public static string Line(TrafficPlan plan, TrafficProgress progress, ResultLog log)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(progress);
        ArgumentNullException.ThrowIfNull(log);
        return string.Create(CultureInfo.InvariantCulture,
            $"[{progress.WallSeconds,4:F0}s] {plan.Phases[progress.PhaseIndex].Name}: {progress.FeaturesProduced} events, {progress.LabelsProduced} labels | p99 {LatencyLine(log)} | drift {DriftLine(log)} | acc {AccuracyLine(log)} | alerts {log.AlertLatest.Values.Count(a => a.State == AlertState.FIRING)} firing");
    }

    private static string LatencyLine(ResultLog log)
    {
        var size = log.WindowSizes(WindowKind.Latency).FirstOrDefault();
        var latest = log.Latency.Values.Where(w => w.WindowSizeMs == size)
            .GroupBy(w => (w.ModelName, w.ModelVersion))
            .Select(g => g.MaxBy(w => w.WindowStartMs)!)
            .OrderByDescending(w => w.WindowStartMs).Take(2)
            .Select(w => (w, e2e: w.Stages.FirstOrDefault(s => s.Stage == "e2e")))
            .Where(x => x.e2e is not null)
            .Select(x => string.Create(CultureInfo.InvariantCulture, $"{x.w.ModelName} v{x.w.ModelVersion}: {x.e2e!.P99Us / 1000.0:F2} ms ({x.w.Count} ev)"))
            .ToList();
        return latest.Count == 0 ? "waiting for the first closed window" : string.Join("; ", latest);
    }

    private static string DriftLine(ResultLog log)
    {
        var size = log.WindowSizes(WindowKind.Drift).FirstOrDefault();
        var latest = log.Drift.Values.Where(w => w.WindowSizeMs == size).MaxBy(w => w.WindowStartMs);
        if (latest is null)
        {
            return "waiting for the first closed window";
        }

        var drifted = latest.Features.Where(f => f.Drifted).OrderByDescending(f => f.DriftScore).Take(3)
            .Select(f => string.Create(CultureInfo.InvariantCulture, $"{f.Feature} {f.DriftScore:F2}")).ToList();
        return string.Create(CultureInfo.InvariantCulture, $"{SummaryMarkdown.Percent(latest.DriftedShare)} of features drifted") + (drifted.Count > 0 ? ": " + string.Join(", ", drifted) : "");
    }

    private static string AccuracyLine(ResultLog log)
    {
        var size = log.WindowSizes(WindowKind.Quality).LastOrDefault();
        var windows = log.Quality.Values.Where(w => w.WindowSizeMs == size).ToList();
        if (windows.Count == 0)
        {
            return "waiting for labels";
        }

        var end = windows.Max(w => w.WindowEndMs());
        var recent = windows.Where(w => w.WindowStartMs >= end - AccuracySpanMs).ToList();
        var labeled = recent.Sum(w => w.Labeled);
        var predictions = recent.Sum(w => w.Predictions);
        return labeled == 0
            ? string.Create(CultureInfo.InvariantCulture, $"no labels yet ({predictions} predictions)")
            : string.Create(CultureInfo.InvariantCulture, $"{SummaryMarkdown.Percent((double)recent.Sum(w => w.Correct) / labeled)} over {labeled} labeled, coverage {SummaryMarkdown.Percent((double)labeled / Math.Max(1, predictions))}");
    }

    private static string AlertLine(ResultLog log)
    {
        var firing = log.AlertLatest.Values.Where(a => a.State == AlertState.FIRING).OrderBy(a => a.StartedAtMs).ToList();
        var resolved = log.AlertLatest.Values.Count(a => a.State == AlertState.RESOLVED);
        if (firing.Count == 0)
        {
            return Markup.Escape($"none firing ({resolved} resolved)");
        }

        return string.Join(", ", firing.Select(a => $"[red]{Markup.Escape(a.Name)}[/] ({Markup.Escape(a.Severity)}, since {Markup.Escape(SummaryMarkdown.Time(a.StartedAtMs))})")) + Markup.Escape($"; {resolved} resolved");
    }
}
