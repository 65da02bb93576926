using System.CommandLine;
using Microsoft.Extensions.Logging;
using Spectre.Console;
using StreamMonitor.Demo;
using StreamMonitor.Stack;

namespace StreamMonitor.Cli.Commands;

/// <summary>`streammon demo`: the whole system on this machine with phased traffic, live progress and a summary.</summary>
public static class DemoCommands
{
    /// <summary>The `demo` verb.</summary>
    public static Command Create()
    {
        var duration = new Option<double>("--duration") { Description = "Wall-clock seconds of traffic.", DefaultValueFactory = _ => 180 };
        var rate = new Option<double>("--rate") { Description = "Feature events per wall-clock second.", DefaultValueFactory = _ => 50 };
        var compression = new Option<double>("--compression") { Description = "Event-time seconds per wall-clock second (60: the demo's minutes show hours of traffic).", DefaultValueFactory = _ => 60 };
        var seed = new Option<int>("--seed") { Description = "Seed of the traffic and the models.", DefaultValueFactory = _ => 42 };
        var keep = new Option<bool>("--keep-running") { Description = "Keep Kafka, InfluxDB and the services running after the summary until Ctrl-C." };
        var bootstrap = new Option<string?>("--bootstrap-servers") { Description = "Use this Kafka cluster instead of the embedded one." };
        var influx = new Option<Uri?>("--influx-url") { Description = "Use this InfluxDB (1.x API) instead of a local influxd." };
        var workDir = new Option<DirectoryInfo?>("--work-dir") { Description = "Run folder (models, profiles, logs, summary); default .streammon/demo-<time>." };
        var noLive = new Option<bool>("--no-live") { Description = "Print a progress line every 10 s instead of the live table (automatic when output is redirected)." };
        var command = new Command("demo", "Run StreamMonitor end to end: embedded Kafka, local InfluxDB, models built from the real data set, the scorer, aggregator and alerter as separate processes, phased traffic (normal, latency regression, feature drift) with delayed labels, live progress and a summary.")
        {
            duration, rate, compression, seed, keep, bootstrap, influx, workDir, noLive,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var root = ServicePaths.FindRepositoryRoot() ?? Directory.GetCurrentDirectory();
            var options = new DemoOptions
            {
                Duration = TimeSpan.FromSeconds(parse.GetValue(duration)),
                RatePerSecond = parse.GetValue(rate),
                TimeCompression = parse.GetValue(compression),
                Seed = parse.GetValue(seed),
                KeepRunning = parse.GetValue(keep),
                BootstrapServers = parse.GetValue(bootstrap),
                InfluxUrl = parse.GetValue(influx),
                WorkDirectory = parse.GetValue(workDir)?.FullName ?? Path.Combine(root, ".streammon", "demo-" + DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", System.Globalization.CultureInfo.InvariantCulture)),
                DataSet = Path.Combine(root, "data", "breast_cancer_wisconsin.csv"),
                SloFile = Path.Combine(root, "config", "demo-slos.yaml"),
                DashboardsDirectory = Path.Combine(root, "dashboards"),
                Interactive = !parse.GetValue(noLive) && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive,
            };
            try
            {
                options.Validate();
            }
            catch (System.ComponentModel.DataAnnotations.ValidationException ex)
            {
                await Console.Error.WriteLineAsync(ex.Message);
                return 2;
            }

            using var loggers = CliLogging.Create(options.Interactive ? LogLevel.Warning : LogLevel.Information);
            await using var stack = await DemoStack.StartInfrastructureAsync(options, loggers, cancellationToken);
            try
            {
                var result = await new DemoRunner(options, loggers, AnsiConsole.Console).RunAsync(stack, cancellationToken);
                if (options.KeepRunning)
                {
                    AnsiConsole.MarkupLine("[bold]The stack keeps running[/] (Kafka, InfluxDB, scorer, aggregator, alerter). Press Ctrl-C to stop it.");
                    await Task.Delay(Timeout.Infinite, cancellationToken);
                }

                return result.Summary.Ranges.Count > 0 ? 0 : 1;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                AnsiConsole.MarkupLine("Stopping the stack...");
                return options.KeepRunning ? 0 : 130;
            }
        });
        return command;
    }
}
