using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Logging;
using StreamMonitor.Contracts;
using StreamMonitor.Models.Training;
using StreamMonitor.Traffic;

namespace StreamMonitor.Cli.Commands;

/// <summary>`streammon traffic`: produce the demo's phased traffic (features and delayed labels) into a cluster.</summary>
public static class TrafficCommands
{
    /// <summary>The `traffic` verb.</summary>
    public static Command Create()
    {
        var bootstrap = new Option<string?>("--bootstrap-servers") { Description = "Bootstrap servers (default: Kafka__BootstrapServers)." };
        var data = new Option<FileInfo>("--data") { Description = "Rows to send: the held-out split (models/<name>/<version>/heldout.csv) or a data set CSV with a label column.", Required = true };
        var split = new Option<bool>("--split") { Description = "--data is the full data set: hold out 20% with the seed and send those rows." };
        var model = new Option<string>("--model") { Description = "Model name the events are addressed to.", DefaultValueFactory = _ => "cancer" };
        var rate = new Option<double>("--rate") { Description = "Feature events per wall-clock second.", DefaultValueFactory = _ => 40 };
        var duration = new Option<double>("--duration") { Description = "Wall-clock seconds of traffic.", DefaultValueFactory = _ => 180 };
        var compression = new Option<double>("--compression") { Description = "Event-time seconds per wall-clock second (60: a second of traffic is a minute of event time).", DefaultValueFactory = _ => 60 };
        var start = new Option<string?>("--start") { Description = "Event time of the first event (ISO-8601 or epoch ms; default: so that the span ends now)." };
        var seed = new Option<int>("--seed") { Description = "Seed of every random choice.", DefaultValueFactory = _ => 42 };
        var unlabeled = new Option<double>("--unlabeled") { Description = "Share of events whose label never arrives.", DefaultValueFactory = _ => 0.1 };
        var labelDelay = new Option<string>("--label-delay") { Description = "Median label delay in event time (lognormal, sigma 1), e.g. 20m, 6h.", DefaultValueFactory = _ => "20m" };
        var command = new Command("traffic", "Produce phased traffic (normal, latency regression, feature drift) from data set rows with delayed labels, in compressed event time. Without `streammon demo` nothing hot-loads a slower model: the latency-regression phase is then normal traffic.")
        {
            bootstrap, data, split, model, rate, duration, compression, start, seed, unlabeled, labelDelay,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var kafka = CliTime.KafkaFromEnvironment(parse.GetValue(bootstrap));
            if (string.IsNullOrWhiteSpace(kafka.BootstrapServers))
            {
                await Console.Error.WriteLineAsync("Give --bootstrap-servers or set Kafka__BootstrapServers.");
                return 2;
            }

            long startMs;
            if (parse.GetValue(start) is { } startText)
            {
                if (!CliTime.TryParseEventTime(startText, out startMs))
                {
                    await Console.Error.WriteLineAsync($"--start: '{startText}' is neither ISO-8601 nor epoch milliseconds.");
                    return 2;
                }
            }
            else
            {
                var span = (long)(parse.GetValue(duration) * parse.GetValue(compression) * 1000);
                startMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - span;
                startMs -= startMs % 60_000;
            }

            if (!Durations.TryParse(parse.GetValue(labelDelay), out var delay) || delay <= TimeSpan.Zero)
            {
                await Console.Error.WriteLineAsync($"--label-delay: '{parse.GetValue(labelDelay)}' is not a positive duration (e.g. 20m).");
                return 2;
            }

            var options = new TrafficOptions
            {
                ModelName = parse.GetValue(model)!,
                RatePerSecond = parse.GetValue(rate),
                Duration = TimeSpan.FromSeconds(parse.GetValue(duration)),
                TimeCompression = parse.GetValue(compression),
                StartTimeMs = startMs,
                Seed = parse.GetValue(seed),
                UnlabeledShare = parse.GetValue(unlabeled),
                LabelDelayMedian = delay,
            };
            TrafficPlan plan;
            try
            {
                var rows = Dataset.LoadCsv(parse.GetValue(data)!.FullName);
                plan = new TrafficPlan(options, parse.GetValue(split) ? rows.Split(0.2, options.Seed).HeldOut : rows);
            }
            catch (Exception ex) when (ex is IOException or InvalidDataException or ArgumentException or System.ComponentModel.DataAnnotations.ValidationException)
            {
                await Console.Error.WriteLineAsync(ex.Message);
                return 2;
            }

            using var loggers = CliLogging.Create();
            var runner = new TrafficRunner(plan, kafka, loggers.CreateLogger<TrafficRunner>());
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{plan.TotalEvents} events, event time {DateTimeOffset.FromUnixTimeMilliseconds(plan.StartEventTimeMs):u} to {DateTimeOffset.FromUnixTimeMilliseconds(plan.EndEventTimeMs):u}"));
            var run = runner.RunAsync(null, cancellationToken);
            while (!run.IsCompleted)
            {
                await Task.WhenAny(run, Task.Delay(5000, cancellationToken));
                var p = runner.Progress;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{p.WallSeconds,5:F0}s] {p.PhaseName}: {p.FeaturesProduced} events, {p.LabelsProduced} labels, {p.DeliveryErrors} delivery errors"));
            }

            var totals = await run;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Done: {totals.Features} events, {totals.Labels} labels, {totals.NeverLabeled} never labeled, {totals.LabelsPendingAtEnd} labels due after the end (not sent)."));
            return runner.Progress.DeliveryErrors == 0 ? 0 : 1;
        });
        return command;
    }
}
