using System.Globalization;
using StreamMonitor.Testing;

namespace StreamMonitor.Aggregator.Tests;

/// <summary>The aggregator's /metrics endpoint, read as the Prometheus text format.</summary>
public static class MetricsText
{
    /// <summary>Prometheus text format: "series value" per line, comments skipped.</summary>
    public static Dictionary<string, double> Parse(string text) => text.Split('\n')
        .Where(l => l.Length > 0 && l[0] != '#')
        .Select(l => (Series: l[..l.LastIndexOf(' ')], Value: double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture)))
        .GroupBy(x => x.Series, StringComparer.Ordinal)
        .ToDictionary(g => g.Key, g => g.Last().Value, StringComparer.Ordinal);

    /// <summary>Sum of every series of <paramref name="name"/> whose labels contain all of <paramref name="labels"/> ("key=\"value\"").</summary>
    public static double Sum(IReadOnlyDictionary<string, double> metrics, string name, params string[] labels) =>
        metrics.Where(m => (m.Key == name || m.Key.StartsWith(name + "{", StringComparison.Ordinal)) && labels.All(l => m.Key.Contains(l, StringComparison.Ordinal))).Sum(m => m.Value);

    /// <summary>Scrapes <paramref name="url"/> until <paramref name="done"/> holds; fails when <paramref name="process"/> exits or <paramref name="timeout"/> passes.</summary>
    public static async Task<Dictionary<string, double>> WaitForAsync(Uri url, ServiceProcess process, Func<IReadOnlyDictionary<string, double>, bool> done, TimeSpan timeout, string what)
    {
        ArgumentNullException.ThrowIfNull(process);
        ArgumentNullException.ThrowIfNull(done);
        await process.WaitForHttpOkAsync(url, TimeSpan.FromSeconds(90));
        using var http = new HttpClient();
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var metrics = Parse(await http.GetStringAsync(url));
            if (done(metrics))
            {
                return metrics;
            }

            Assert.False(process.HasExited, $"the aggregator exited with {(process.HasExited ? process.ExitCode : 0)} waiting for {what}");
            Assert.True(DateTime.UtcNow < deadline, $"metrics never showed {what}");
            await Task.Delay(500);
        }
    }
}
