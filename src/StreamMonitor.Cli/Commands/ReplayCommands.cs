using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Spectre.Console;
using StreamMonitor.Contracts;
using StreamMonitor.Kafka;
using StreamMonitor.Replay;
using StreamMonitor.Stack;

namespace StreamMonitor.Cli.Commands;

/// <summary>`streammon replay`: replay an event-time range through the aggregator and alerter into an isolated namespace.</summary>
public static class ReplayCommands
{
    /// <summary>The `replay` verb.</summary>
    public static Command Create()
    {
        var from = new Option<string>("--from") { Description = "Start of the event-time range (ISO-8601 or epoch ms), inclusive.", Required = true };
        var to = new Option<string>("--to") { Description = "End of the event-time range (ISO-8601 or epoch ms), exclusive.", Required = true };
        var suffix = new Option<string>("--suffix") { Description = "Topic-name suffix of the replay namespace, e.g. .replay-incident42.", Required = true };
        var influxDb = new Option<string>("--influx-db") { Description = "InfluxDB database of the replay, e.g. streammon_replay_incident42.", Required = true };
        var influxUrl = new Option<string?>("--influx-url") { Description = "InfluxDB URL (default: Influx__Url, else http://127.0.0.1:8086)." };
        var bootstrap = new Option<string?>("--bootstrap-servers") { Description = "Bootstrap servers (default: Kafka__BootstrapServers)." };
        var rescore = new Option<string?>("--rescore-model-version") { Description = "What-if: re-score the replayed features with this model version (batch mode) instead of copying the live predictions." };
        var model = new Option<string>("--model") { Description = "Model to re-score with.", DefaultValueFactory = _ => "cancer" };
        var store = new Option<DirectoryInfo>("--model-store") { Description = "Model store root for re-scoring.", DefaultValueFactory = _ => new DirectoryInfo("models") };
        var settings = new Option<FileInfo?>("--settings") { Description = "JSON file {\"aggregator\": {\"Key__Path\": \"value\"}, \"alerter\": {...}}: the live services' settings (the demo writes one as service-settings.json). Environment variables of this process are inherited too." };
        var labelHorizon = new Option<string?>("--label-horizon") { Description = "Copy labels of the range's events that arrived up to this long after --to (default: the settings' Aggregator__Quality__LabelHorizon, else 7d)." };
        var slack = new Option<string>("--slack") { Description = "Largest out-of-orderness of record times along a partition (search margin).", DefaultValueFactory = _ => "1h" };
        var workDir = new Option<DirectoryInfo?>("--work-dir") { Description = "Folder for the replayed services' logs (default: .streammon/replay<suffix>)." };
        var command = new Command("replay", "Copy an event-time range of features, predictions and labels into suffixed topics and run the aggregator and alerter over it into a separate InfluxDB database: the same window results and alerts as live, for postmortems and what-ifs.")
        {
            from, to, suffix, influxDb, influxUrl, bootstrap, rescore, model, store, settings, labelHorizon, slack, workDir,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (!CliTime.TryParseEventTime(parse.GetValue(from), out var fromMs) || !CliTime.TryParseEventTime(parse.GetValue(to), out var toMs) || toMs <= fromMs)
            {
                await Console.Error.WriteLineAsync("--from and --to must be event times (ISO-8601 or epoch ms) with --from before --to.");
                return 2;
            }

            if (!Durations.TryParse(parse.GetValue(slack), out var slackSpan))
            {
                await Console.Error.WriteLineAsync($"--slack: '{parse.GetValue(slack)}' is not a duration (e.g. 1h).");
                return 2;
            }

            var live = CliTime.KafkaFromEnvironment(parse.GetValue(bootstrap));
            if (string.IsNullOrWhiteSpace(live.BootstrapServers))
            {
                await Console.Error.WriteLineAsync("Give --bootstrap-servers or set Kafka__BootstrapServers.");
                return 2;
            }

            live.Topics.Suffix = "";
            var ns = new ReplayNamespace(parse.GetValue(suffix)!, parse.GetValue(influxDb)!);
            var url = parse.GetValue(influxUrl) ?? Environment.GetEnvironmentVariable("Influx__Url") ?? "http://127.0.0.1:8086";
            try
            {
                ns.Validate(Environment.GetEnvironmentVariable("Influx__Database") ?? "streammon");
            }
            catch (ArgumentException ex)
            {
                await Console.Error.WriteLineAsync(ex.Message);
                return 2;
            }

            IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> serviceSettings = new Dictionary<string, IReadOnlyDictionary<string, string>>();
            if (parse.GetValue(settings) is { } file)
            {
                serviceSettings = JsonSerializer.Deserialize<Dictionary<string, Dictionary<string, string>>>(await File.ReadAllTextAsync(file.FullName, cancellationToken))!
                    .ToDictionary(kv => kv.Key, kv => (IReadOnlyDictionary<string, string>)kv.Value, StringComparer.Ordinal);
            }

            using var loggers = CliLogging.Create();
            var logger = loggers.CreateLogger("streammon.replay");
            var work = parse.GetValue(workDir)?.FullName ?? Path.GetFullPath(Path.Combine(".streammon", "replay" + ns.Suffix));
            var target = ReplayRunner.ReplayKafka(live, ns.Suffix);
            await ReplayTopics.CreateAsync(target, 1, logger, cancellationToken);

            Func<KafkaOptions, CancellationToken, Task>? rescoreStep = null;
            if (parse.GetValue(rescore) is { } version)
            {
                var modelName = parse.GetValue(model)!;
                var storeRoot = parse.GetValue(store)!.FullName;
                rescoreStep = (ns2, ct) => RescoreAsync(ns2, modelName, version, storeRoot, work, logger, ct);
            }

            var runner = new ReplayRunner(live, url, logger);
            var horizonText = parse.GetValue(labelHorizon)
                              ?? (serviceSettings.TryGetValue("aggregator", out var aggregatorSettings) ? aggregatorSettings.GetValueOrDefault("Aggregator__Quality__LabelHorizon") : null)
                              ?? "7d";
            if (!Durations.TryParse(horizonText, out var horizon))
            {
                await Console.Error.WriteLineAsync($"--label-horizon: '{horizonText}' is not a duration (e.g. 7d).");
                return 2;
            }

            var request = new ReplayRequest(fromMs, toMs, ns, slackSpan, serviceSettings, work, horizon);
            ReplayOutcome outcome;
            try
            {
                outcome = await RunWithProgressAsync(runner, request, rescoreStep, cancellationToken);
            }
            catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or Confluent.Kafka.KafkaException)
            {
                // A service that failed, a range that never settled, a cluster that refused: the message says where to look.
                await Console.Error.WriteLineAsync("Replay failed: " + ex.Message);
                return 1;
            }

            var table = new Table().AddColumns("topic", "partitions", "records copied", "skipped (outside range)", "undecodable copied", "labels after --to", "offsets found by");
            foreach (var group in outcome.Copies.GroupBy(c => c.TargetTopic))
            {
                table.AddRow(group.Key, group.Count().ToString(CultureInfo.InvariantCulture), group.Sum(c => c.Copied).ToString(CultureInfo.InvariantCulture),
                    group.Sum(c => c.OutOfRange).ToString(CultureInfo.InvariantCulture), group.Sum(c => c.Undecodable).ToString(CultureInfo.InvariantCulture),
                    group.Sum(c => c.LateLabels).ToString(CultureInfo.InvariantCulture), string.Join(", ", group.Select(c => c.Method).Distinct()));
            }

            AnsiConsole.Write(table);
            var log = outcome.Results;
            AnsiConsole.MarkupLine(Markup.Escape(string.Create(CultureInfo.InvariantCulture,
                $"Replay done in {outcome.Elapsed.TotalSeconds:F0} s: {log.Latency.Count} latency, {log.Drift.Count} drift, {log.Quality.Count} quality windows, {log.Incidents().Count} alert incidents in {target.Topics.Alerts} and InfluxDB database {ns.InfluxDatabase}.")));
            AnsiConsole.MarkupLine(Markup.Escape($"Postmortem: streammon report postmortem --from {parse.GetValue(from)} --to {parse.GetValue(to)} --suffix {ns.Suffix} --bootstrap-servers {live.BootstrapServers} --out postmortem{ns.Suffix}"));
            return 0;
        });
        return command;
    }

    /// <summary>Runs the replay under a progress display: the copy by records scanned, then one step per stage.</summary>
    private static async Task<ReplayOutcome> RunWithProgressAsync(ReplayRunner runner, ReplayRequest request, Func<KafkaOptions, CancellationToken, Task>? rescoreStep, CancellationToken cancellationToken)
    {
        ReplayOutcome outcome = null!;
        await AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .StartAsync(async ctx =>
            {
                var copy = ctx.AddTask("copy range", maxValue: 1);

                // Stages: copy, (re-score,) aggregator, alerter; a stage counts as done when the next one starts.
                var stage = ctx.AddTask("replay", maxValue: rescoreStep is null ? 3 : 4);
                var started = 0;
                outcome = await runner.RunAsync(
                    request,
                    new Progress<CopyProgress>(p =>
                    {
                        copy.MaxValue = Math.Max(1, p.ToScan);
                        copy.Value = p.Scanned;
                    }),
                    new Progress<string>(s =>
                    {
                        stage.Description = s;
                        stage.Value = started++;
                    }),
                    rescoreStep,
                    cancellationToken);
                copy.Value = copy.MaxValue;
                stage.Value = stage.MaxValue;
            });
        return outcome;
    }

    private static async Task RescoreAsync(KafkaOptions target, string model, string version, string store, string work, ILogger logger, CancellationToken cancellationToken)
    {
        // The scorer's batch mode (`streammon score`), run as a child process of this CLI.
        var cli = typeof(ReplayCommands).Assembly.Location;
        string[] args =
        [
            "score", "--model", model, "--version", version, "--store", store,
            "--input-topic", target.Topics.Features, "--output-topic", target.Topics.Predictions,
            "--bootstrap-servers", target.BootstrapServers,
        ];
        await using var child = ChildService.StartDotnet("rescore", cli, args, new Dictionary<string, string>(), Directory.GetCurrentDirectory(), Path.Combine(work, "logs"), logger);
        var code = await child.WaitForExitAsync(cancellationToken);
        if (code != 0)
        {
            throw new InvalidOperationException($"Re-scoring failed (exit {code}); see {child.LogPath}:{Environment.NewLine}{string.Join(Environment.NewLine, child.Tail.TakeLast(20))}");
        }
    }
}
