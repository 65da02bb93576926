using Spectre.Console;
using StreamMonitor.Contracts;
using StreamMonitor.Demo;
using StreamMonitor.Models.Training;
using StreamMonitor.Reports;
using StreamMonitor.Traffic;

namespace StreamMonitor.EndToEnd.Tests;

/// <summary>
/// The demo's live table as a terminal sees it: an interactive ANSI console (what Spectre.Console picks on a TTY)
/// refreshing the table while results arrive, including alert names that look like markup.
/// </summary>
public sealed class LiveViewTests
{
    private const long Minute = 60_000;
    private static readonly long Start = new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();

    [Fact]
    public async Task Live_table_renders_and_redraws_in_an_interactive_ansi_terminal()
    {
        var plan = new TrafficPlan(
            new TrafficOptions { StartTimeMs = Start, Seed = 1, RatePerSecond = 50, Duration = TimeSpan.FromSeconds(60), TimeCompression = 60 },
            Dataset.LoadCsv(RepoPaths.DataSet).Split(heldOutFraction: 0.2, seed: 7).HeldOut);
        var log = new ResultLog();
        var output = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Interactive = InteractionSupport.Yes,
            Ansi = AnsiSupport.Yes,
            ColorSystem = ColorSystemSupport.TrueColor,
        });
        console.Profile.Width = 120;
        console.Profile.Height = 40;

        var refreshes = 0;
        await console.Live(LiveView.Render(plan, Progress(plan, 0), log)).AutoClear(false).StartAsync(async context =>
        {
            for (var step = 1; step <= 3; step++)
            {
                AddResults(log, step);
                context.UpdateTarget(LiveView.Render(plan, Progress(plan, step), log));
                context.Refresh();
                refreshes++;
                await Task.Yield();
            }
        });

        var text = output.ToString();
        Assert.Equal(3, refreshes);
        Assert.Contains("StreamMonitor demo", text, StringComparison.Ordinal);
        Assert.Contains("cancer v1: 3.00 ms", text, StringComparison.Ordinal);
        Assert.Contains("10.0% of features drifted: mean_area 0.40", text, StringComparison.Ordinal);
        Assert.Contains("latency [p99] page", text, StringComparison.Ordinal);

        // Each refresh moves the cursor back over the previous table and redraws it in place.
        Assert.Contains("\u001b[", text, StringComparison.Ordinal);
        Assert.True(CountOf(text, "StreamMonitor demo") >= 3, "the table was not redrawn on each refresh");
        Assert.Matches(@"\u001b\[\d+A", text);
    }

    private static TrafficProgress Progress(TrafficPlan plan, int step) =>
        new(0, plan.Phases[0].Name, step * 100, step * 80, step * 100, 0, Start + (step * Minute), step * 10, plan.Phases[^1].EndWallSeconds);

    private static void AddResults(ResultLog log, int step)
    {
        var t = Start + (step * Minute);
        var latency = new LatencyWindowResult
        {
            ModelName = "cancer", ModelVersion = "1", WindowStartMs = t, WindowSizeMs = Minute, Count = 50,
            Stages = [new StageLatency { Stage = "e2e", Count = 50, P50Us = 1000, P99Us = step * 1000 }],
        };
        log.Latency[latency.Key] = latency;
        var drift = new DriftWindowResult
        {
            ModelName = "cancer", ModelVersion = "1", WindowStartMs = t, WindowSizeMs = Minute, Count = 50, DriftedShare = 0.1,
            Features = [new FeatureDrift { Feature = "mean_area", DriftMethod = "wasserstein", DriftScore = 0.4, Threshold = 0.1, Drifted = true }],
        };
        log.Drift[drift.Key] = drift;
        var quality = new QualityWindowResult
        {
            ModelName = "cancer", ModelVersion = "1", WindowStartMs = t, WindowSizeMs = Minute, Predictions = 50, Labeled = 40, Correct = 38, LabelCoverage = 0.8, Accuracy = 0.95,
        };
        log.Quality[quality.Key] = quality;
        var alert = new Alert { AlertId = "a1", Name = "latency [p99] page", Kind = AlertKind.SLO_BURN_RATE, State = AlertState.FIRING, Severity = "page", StartedAtMs = t, EventTimeMs = t };
        log.AlertLatest[alert.AlertId] = alert;
        log.AlertHistory.Add(alert);
    }

    private static int CountOf(string text, string value)
    {
        var count = 0;
        for (var i = text.IndexOf(value, StringComparison.Ordinal); i >= 0; i = text.IndexOf(value, i + value.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}
