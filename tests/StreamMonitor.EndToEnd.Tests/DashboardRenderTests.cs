using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using SkiaSharp;
using StreamMonitor.Testing;

namespace StreamMonitor.EndToEnd.Tests;

/// <summary>
/// `streammon dashboards render`, run as a process of the built CLI against the shared demo run's InfluxDB, draws every
/// cell of every dashboard to a PNG, and the cells with data in the demo are drawn with points.
/// </summary>
[Collection(DemoRunCollection.Name)]
public sealed partial class DashboardRenderTests(DemoRunFixture demo)
{
    // Cells whose measurements every short demo fills; a render of them without points is a broken query or chart.
    private static readonly string[] CorePanels =
    [
        "overview / Throughput (events/s, event time)",
        "overview / End-to-end latency percentiles (worst window per interval, ms)",
        "overview / Stage breakdown: mean time per stage (ms)",
        "drift / Drift score per feature",
        "quality / Realized accuracy and F1 (labeled predictions)",
        "quality / Label coverage",
        "slos / Burn rate per tier (long and short window)",
        "slos / Error budget remaining",
    ];

    [Fact]
    public async Task Render_draws_every_cell_of_every_dashboard_and_the_core_cells_have_points()
    {
        var output = Path.Combine(demo.Stack.WorkDirectory, "dashboards-render");
        var from = demo.Result.Plan.StartEventTimeMs - 600_000;
        var to = demo.Result.Plan.EndEventTimeMs + 600_000;
        await using var cli = ServiceProcess.Start(new ServiceProcessOptions(StreammonCli.DllPath)
        {
            Arguments =
            [
                "dashboards", "render", "--influx-url", demo.Stack.Influx.Url, "--database", demo.Stack.Influx.Database,
                "--from", from.ToString(CultureInfo.InvariantCulture), "--to", to.ToString(CultureInfo.InvariantCulture),
                "--dashboards-dir", DashboardFiles.Directory, "--out", output,
            ],
            Environment = new Dictionary<string, string?>(StringComparer.Ordinal) { ["DOTNET_gcServer"] = "0" },
            WorkingDirectory = demo.Stack.WorkDirectory,
        });
        var code = await cli.WaitForExitAsync(TimeSpan.FromMinutes(3));
        var log = string.Join('\n', cli.Lines);
        Assert.True(code == 0, $"render exited {code}:\n{log}");

        var printed = cli.Lines.Select(l => PanelLine().Match(l)).Where(m => m.Success)
            .ToDictionary(m => m.Groups["panel"].Value, m => (Rows: int.Parse(m.Groups["rows"].Value, CultureInfo.InvariantCulture), Points: int.Parse(m.Groups["points"].Value, CultureInfo.InvariantCulture), File: m.Groups["file"].Value), StringComparer.Ordinal);

        // One PNG per cell of every dashboard, each a decodable image of real size.
        foreach (var path in DashboardFiles.Paths())
        {
            var stem = Path.GetFileNameWithoutExtension(path);
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            foreach (var cell in doc.RootElement.GetProperty("cells").EnumerateArray())
            {
                var panel = $"{stem} / {cell.GetProperty("name").GetString()}";
                Assert.True(printed.TryGetValue(panel, out var rendered), $"no output line for {panel}:\n{log}");
                var file = Path.Combine(output, rendered.File);
                Assert.True(File.Exists(file), $"{file} missing");
                Assert.True(new FileInfo(file).Length > 10_000, $"{file} is only {new FileInfo(file).Length} bytes");
                using var bitmap = SKBitmap.Decode(file);
                Assert.True(bitmap is { Width: 1100, Height: 480 }, $"{file} does not decode as a 1100x480 image");
            }
        }

        foreach (var panel in CorePanels)
        {
            Assert.True(printed[panel] is { Rows: > 0, Points: > 0 }, $"{panel}: rows={printed[panel].Rows} points={printed[panel].Points}");
        }

        // A panel with data is drawn with more ink than the same panel with none.
        var empty = Path.Combine(output, "empty.png");
        StreamMonitor.Reports.DashboardPanelChart.Save("Throughput (events/s, event time)", "events/s", [], steps: false, empty);
        Assert.True(new FileInfo(Path.Combine(output, printed[CorePanels[0]].File)).Length > new FileInfo(empty).Length, "the throughput panel is no larger than an empty one");
    }

    [GeneratedRegex(@"^(?<panel>[a-z0-9-]+ / .+): rows=(?<rows>\d+) points=(?<points>\d+) -> (?<file>.+\.png)$")]
    private static partial Regex PanelLine();
}
