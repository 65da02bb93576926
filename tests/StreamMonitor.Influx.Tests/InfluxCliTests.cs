using StreamMonitor.Influx;
using StreamMonitor.Testing;

namespace StreamMonitor.Influx.Tests;

/// <summary>`streammon influx up` and `streammon influx query` as separate processes.</summary>
public sealed class InfluxCliTests
{
    [Fact]
    public async Task Influx_up_serves_until_SIGTERM_then_cleans_up()
    {
        var scratch = Directory.CreateTempSubdirectory("streammon-influx-cli-").FullName;
        try
        {
            var urlFile = Path.Combine(scratch, "influx.url");
            await using var up = ServiceProcess.Start(new ServiceProcessOptions(StreammonCli.DllPath)
            {
                Arguments = ["influx", "up", "--url-file", urlFile, "--database", "cli_db"],
            });
            var line = await up.WaitForLineAsync("InfluxDB URL: ", TimeSpan.FromSeconds(60));
            var url = File.ReadAllText(urlFile);
            Assert.EndsWith(url, line, StringComparison.Ordinal);

            var options = new InfluxOptions { Url = url, Database = "cli_db" };
            await using (var writer = new InfluxWriter(options))
            {
                await writer.WriteAsync(LinePoint.Measurement("m").Tag("k", "v").Field("f", 42L).Timestamp(7_000_000));
                await writer.FlushAsync();
            }

            await using var query = ServiceProcess.Start(new ServiceProcessOptions(StreammonCli.DllPath)
            {
                Arguments = ["influx", "query", "--url", url, "--database", "cli_db", "SELECT f, k FROM m"],
            });
            Assert.Equal(0, await query.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            Assert.Contains("1970-01-01T00:00:00.007Z\t42\tv", query.Lines);

            var dataDir = up.Lines.Single(l => l.StartsWith("Database: ", StringComparison.Ordinal)).Split("data: ")[1];
            Assert.True(Directory.Exists(dataDir));
            Assert.Equal(0, await up.StopAsync(TimeSpan.FromSeconds(20)));
            Assert.False(File.Exists(urlFile), "the URL file outlived the server");
            Assert.False(Directory.Exists(dataDir), "the temporary data directory was not deleted");
            using var client = new InfluxQueryClient(options);
            Assert.False(await client.PingAsync());
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    [Fact]
    public async Task Influx_up_exits_non_zero_when_influxd_dies()
    {
        var scratch = Directory.CreateTempSubdirectory("streammon-influx-cli-").FullName;
        try
        {
            var urlFile = Path.Combine(scratch, "influx.url");
            await using var up = ServiceProcess.Start(new ServiceProcessOptions(StreammonCli.DllPath)
            {
                Arguments = ["influx", "up", "--url-file", urlFile, "--database", "cli_db"],
            });
            // "Database: ...; data: DIR" is the line after "InfluxDB URL: ...": wait for it, not only for the first.
            var dataDir = (await up.WaitForLineAsync(l => l.StartsWith("Database: ", StringComparison.Ordinal), TimeSpan.FromSeconds(60))).Split("data: ")[1];

            // The child influxd is the one whose command line names the config generated in this run's data directory.
            var influxd = System.Diagnostics.Process.GetProcessesByName("influxd")
                .Single(p => File.ReadAllText($"/proc/{p.Id}/cmdline").Contains(dataDir, StringComparison.Ordinal));
            influxd.Kill();
            Assert.Equal(1, await up.WaitForExitAsync(TimeSpan.FromSeconds(20)));
            Assert.Contains(up.Lines, l => l.Contains("influxd exited unexpectedly", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }
}
