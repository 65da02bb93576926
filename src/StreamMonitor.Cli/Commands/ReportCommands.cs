using System.CommandLine;
using Microsoft.Extensions.Logging;
using StreamMonitor.Reports;

namespace StreamMonitor.Cli.Commands;

/// <summary>`streammon report postmortem`: Markdown with PNG charts for an event-time range.</summary>
public static class ReportCommands
{
    /// <summary>The `report` verb with its sub-verbs.</summary>
    public static Command Create()
    {
        var report = new Command("report", "Reports over the compacted result topics in Kafka (they hold every result; InfluxDB is only their projection and is not read).");
        report.Add(CreatePostmortem());
        return report;
    }

    private static Command CreatePostmortem()
    {
        var from = new Option<string>("--from") { Description = "Start of the event-time range (ISO-8601 or epoch ms).", Required = true };
        var to = new Option<string>("--to") { Description = "End of the event-time range (ISO-8601 or epoch ms), exclusive.", Required = true };
        var suffix = new Option<string>("--suffix") { Description = "Namespace to report on: empty for live, or the --suffix given to `streammon replay`. The report reads that namespace's result topics in Kafka; it needs no InfluxDB (no --influx-db/--influx-url).", DefaultValueFactory = _ => "" };
        var bootstrap = new Option<string?>("--bootstrap-servers") { Description = "Bootstrap servers (default: Kafka__BootstrapServers)." };
        var output = new Option<DirectoryInfo>("--out") { Description = "Folder for report.md and the PNG charts.", Required = true };
        var title = new Option<string>("--title") { Description = "Report title.", DefaultValueFactory = _ => "StreamMonitor postmortem" };
        var phases = new Option<string[]>("--phase") { Description = "Named sub-range for the tables, name=from..to (repeatable), e.g. regression=2026-11-22T10:00Z..2026-11-22T11:00Z." };
        var command = new Command("postmortem", "Write a postmortem for an event-time range: latency percentiles over time, burn rates with alert spans, drift per feature, accuracy with label coverage (PNG), the alert timeline and per-range tables (Markdown). Reads the compacted result topics of the namespace from Kafka, not InfluxDB.")
        {
            from, to, suffix, bootstrap, output, title, phases,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (!CliTime.TryParseEventTime(parse.GetValue(from), out var fromMs) || !CliTime.TryParseEventTime(parse.GetValue(to), out var toMs) || toMs <= fromMs)
            {
                await Console.Error.WriteLineAsync("--from and --to must be event times (ISO-8601 or epoch ms) with --from before --to.");
                return 2;
            }

            var ranges = new List<EventTimeRange>();
            foreach (var phase in parse.GetValue(phases) ?? [])
            {
                var eq = phase.IndexOf('=', StringComparison.Ordinal);
                var dots = phase.IndexOf("..", StringComparison.Ordinal);
                if (eq <= 0 || dots < eq || !CliTime.TryParseEventTime(phase[(eq + 1)..dots], out var a) || !CliTime.TryParseEventTime(phase[(dots + 2)..], out var b) || b <= a)
                {
                    await Console.Error.WriteLineAsync($"--phase expects name=from..to, got '{phase}'.");
                    return 2;
                }

                ranges.Add(new EventTimeRange(phase[..eq], a, b));
            }

            var kafka = CliTime.KafkaFromEnvironment(parse.GetValue(bootstrap), parse.GetValue(suffix));
            if (string.IsNullOrWhiteSpace(kafka.BootstrapServers))
            {
                await Console.Error.WriteLineAsync("Give --bootstrap-servers or set Kafka__BootstrapServers.");
                return 2;
            }

            using var loggers = CliLogging.Create();
            using var reader = new ResultTopicReader(kafka, loggers.CreateLogger("streammon.report"));
            reader.CatchUp(TimeSpan.FromMinutes(5), cancellationToken);
            var path = PostmortemReport.Write(reader.Log, new EventTimeRange("range", fromMs, toMs), ranges, parse.GetValue(title)!, parse.GetValue(output)!.FullName);
            Console.WriteLine($"Wrote {path}");
            return 0;
        });
        return command;
    }
}
