using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Logging;
using StreamMonitor.Influx;
using StreamMonitor.Influx.Local;

namespace StreamMonitor.Cli.Commands;

/// <summary>`streammon influx`: a local InfluxDB 1.x for the demo and development, and InfluxQL queries against one.</summary>
public static class InfluxCommands
{
    /// <summary>The `influx` verb with its sub-verbs.</summary>
    public static Command Create()
    {
        var influx = new Command("influx", "InfluxDB: run a local influxd, query it.");
        influx.Add(CreateUp());
        influx.Add(CreateQuery());
        return influx;
    }

    private static Command CreateUp()
    {
        var port = new Option<int?>("--port") { Description = "HTTP port on 127.0.0.1 (default: a free one)." };
        var dataDir = new Option<DirectoryInfo?>("--data-dir") { Description = "Data directory, kept on exit (default: a temporary one, deleted on exit)." };
        var urlFile = new Option<FileInfo?>("--url-file") { Description = "Write the HTTP API URL to this file once influxd answers /ping; deleted on exit." };
        var database = new Option<string>("--database") { Description = "Database to create.", DefaultValueFactory = _ => "streammon" };
        var up = new Command("up", "Start influxd (installing Debian's influxdb package first if missing and running as root) on a loopback port with a generated config, create the database, print the URL and stay up until Ctrl-C or SIGTERM; exits with code 1 if influxd dies.")
        {
            port, dataDir, urlFile, database,
        };
        up.SetAction(async (parse, cancellationToken) =>
        {
            if (parse.GetValue(port) is { } p && p is < 1 or > 65535)
            {
                await Console.Error.WriteLineAsync("--port must be between 1 and 65535.");
                return 2;
            }

            using var loggers = CliLogging.Create();
            var logger = loggers.CreateLogger("streammon.influx");
            var options = new LocalInfluxdOptions
            {
                Port = parse.GetValue(port),
                DataDirectory = parse.GetValue(dataDir)?.FullName,
                Database = parse.GetValue(database),
            };
            await using var server = await LocalInfluxd.StartAsync(options, logger, cancellationToken);
            var baseUrl = server.Url.GetLeftPart(UriPartial.Authority);
            var file = parse.GetValue(urlFile);
            try
            {
                if (file is not null)
                {
                    // Readers poll for the file: they must never see it half-written.
                    file.Directory?.Create();
                    var temp = file.FullName + ".tmp";
                    await File.WriteAllTextAsync(temp, baseUrl, cancellationToken);
                    File.Move(temp, file.FullName, overwrite: true);
                }

                Console.WriteLine($"InfluxDB URL: {baseUrl}");
                Console.WriteLine($"Database: {options.Database}; data: {server.DataDirectory}");
                Console.WriteLine($"Clients: Influx__Url={baseUrl} Influx__Database={options.Database}. Ctrl-C or SIGTERM stops it.");
                try
                {
                    // A supervisor (the demo, systemd, a test) must learn that the database is gone, not find a live
                    // process with nothing behind its URL: exit non-zero as soon as influxd does.
                    while (server.IsRunning)
                    {
                        await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
                    }

                    await Console.Error.WriteLineAsync($"influxd exited unexpectedly; {baseUrl} no longer serves. Stopping (exit code 1); restart `streammon influx up` (the data directory keeps the data when --data-dir is given).");
                    return 1;
                }
                catch (OperationCanceledException)
                {
                    logger.LogInformation("Stopping influxd");
                }

                return 0;
            }
            finally
            {
                file?.Delete();
            }
        });
        return up;
    }

    private static Command CreateQuery()
    {
        var url = new Option<string?>("--url") { Description = "InfluxDB URL (default: Influx__Url, else http://127.0.0.1:8086)." };
        var database = new Option<string?>("--database") { Description = "Database (default: Influx__Database, else streammon)." };
        var text = new Argument<string>("influxql") { Description = "InfluxQL, e.g. \"SELECT * FROM latency_window LIMIT 5\"." };
        var query = new Command("query", "Run InfluxQL and print each series as tab-separated rows (times in UTC).")
        {
            url, database, text,
        };
        query.SetAction(async (parse, cancellationToken) =>
        {
            var options = new InfluxOptions
            {
                Url = parse.GetValue(url) ?? Environment.GetEnvironmentVariable("Influx__Url") ?? "http://127.0.0.1:8086",
                Database = parse.GetValue(database) ?? Environment.GetEnvironmentVariable("Influx__Database") ?? "streammon",
            };
            using var client = new InfluxQueryClient(options);
            IReadOnlyList<InfluxSeries> result;
            try
            {
                result = await client.QueryAsync(parse.GetValue(text)!, cancellationToken);
            }
            catch (Exception ex) when (ex is InfluxQueryException or HttpRequestException)
            {
                await Console.Error.WriteLineAsync(ex.Message);
                return 1;
            }

            foreach (var series in result)
            {
                var tags = string.Join(",", series.Tags.Select(t => $"{t.Key}={t.Value}"));
                Console.WriteLine(tags.Length == 0 ? $"# {series.Name}" : $"# {series.Name} {tags}");
                Console.WriteLine(string.Join('\t', series.Columns));
                for (var row = 0; row < series.Rows.Count; row++)
                {
                    Console.WriteLine(string.Join('\t', series.Columns.Select((c, i) => Format(series, row, c, i))));
                }
            }

            return 0;
        });
        return query;
    }

    private static string Format(InfluxSeries series, int row, string column, int index) =>
        column == "time" && series.Rows[row][index] is long
            ? series.GetTime(row).ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture)
            : Convert.ToString(series.Rows[row][index], CultureInfo.InvariantCulture) ?? "";
}
