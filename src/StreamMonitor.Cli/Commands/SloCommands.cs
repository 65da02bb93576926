using System.CommandLine;
using System.Globalization;
using Confluent.Kafka;
using Microsoft.Extensions.Configuration;
using Spectre.Console;
using StreamMonitor.Contracts;
using StreamMonitor.Kafka;
using StreamMonitor.Slo;

namespace StreamMonitor.Cli.Commands;

/// <summary>`streammon slo`: SLO status from the alerter's topics, and SLO file validation.</summary>
public static class SloCommands
{
    /// <summary>The `slo` verb with its sub-verbs.</summary>
    public static Command Create()
    {
        var slo = new Command("slo", "SLOs: current burn rates, budgets and firing alerts; validate an SLO file.");
        slo.Add(CreateStatus());
        slo.Add(CreateValidate());
        return slo;
    }

    private static Command CreateStatus()
    {
        var bootstrap = new Option<string?>("--bootstrap-servers") { Description = "Bootstrap servers (default: Kafka__BootstrapServers)." };
        var suffix = new Option<string?>("--suffix") { Description = "Topic-name suffix (replay namespace)." };
        var timeout = new Option<int>("--timeout-seconds") { Description = "How long to wait for the cluster.", DefaultValueFactory = _ => 20 };
        var status = new Command("status", "Show each SLO's burn rate per tier (long/short window against the threshold), budget remaining and the firing alerts, read from the slo-status and alerts topics.")
        {
            bootstrap, suffix, timeout,
        };
        status.SetAction(async (parse, cancellationToken) =>
        {
            var options = new KafkaOptions();
            new ConfigurationBuilder().AddEnvironmentVariables().Build().GetSection(KafkaOptions.SectionName).Bind(options);
            options.BootstrapServers = parse.GetValue(bootstrap) ?? options.BootstrapServers;
            if (parse.GetValue(suffix) is { } s)
            {
                options.Topics.Suffix = s;
            }

            if (string.IsNullOrWhiteSpace(options.BootstrapServers))
            {
                await Console.Error.WriteLineAsync("No bootstrap servers: pass --bootstrap-servers or set Kafka__BootstrapServers.");
                return 2;
            }

            var codec = new EventCodec();
            var wait = TimeSpan.FromSeconds(parse.GetValue(timeout));
            Dictionary<string, SloStatus> statuses;
            Dictionary<string, Alert> alerts;
            try
            {
                statuses = ReadLatest<SloStatus>(options, options.Topics.SloStatus, codec, wait, cancellationToken, (a, b) => b.EvaluatedAtMs >= a.EvaluatedAtMs);
                alerts = ReadLatest<Alert>(options, options.Topics.Alerts, codec, wait, cancellationToken, (a, b) => b.EventTimeMs >= a.EventTimeMs);
            }
            catch (Exception ex) when (ex is KafkaException or TimeoutException)
            {
                await Console.Error.WriteLineAsync($"Cannot read the SLO topics: {ex.Message}");
                return 1;
            }

            Render(statuses.Values, alerts.Values.Where(a => a.State == AlertState.FIRING));
            return 0;
        });
        return status;
    }

    private static Command CreateValidate()
    {
        var file = new Argument<FileInfo>("file") { Description = "SLO file (YAML)." };
        var window = new Option<string>("--result-window") { Description = "Latency result window the alerter consumes.", DefaultValueFactory = _ => "10s" };
        var qualityWindow = new Option<string>("--quality-window") { Description = "Quality result window the alerter consumes.", DefaultValueFactory = _ => "1m" };
        var validate = new Command("validate", "Validate an SLO file as the alerter does at start-up and print its tiers.") { file, window, qualityWindow };
        validate.SetAction(async (parse, cancellationToken) =>
        {
            try
            {
                var slos = SloFile.Load(parse.GetValue(file)!.FullName, Durations.Parse(parse.GetValue(window)), Durations.Parse(parse.GetValue(qualityWindow)));
                var table = new Table().Title("SLOs").AddColumns("SLO", "SLI", "Target", "Period", "Tier", "Severity", "Windows", "Burn rate", "Budget share");
                foreach (var slo in slos)
                {
                    foreach (var tier in slo.Tiers)
                    {
                        table.AddRow(
                            Markup.Escape(slo.Name), slo.SliName, slo.Target.ToString("0.####", CultureInfo.InvariantCulture), Markup.Escape(slo.Period.ToString()),
                            Markup.Escape(tier.Name), tier.Severity, $"{Durations.Format(tier.LongWindow)}/{Durations.Format(tier.ShortWindow)}",
                            tier.BurnRate.ToString("0.###", CultureInfo.InvariantCulture), tier.BudgetShare.ToString("P1", CultureInfo.InvariantCulture));
                    }
                }

                AnsiConsole.Write(table);
                return 0;
            }
            catch (Exception ex) when (ex is SloValidationException or FormatException)
            {
                await Console.Error.WriteLineAsync(ex.Message);
                return 2;
            }
        });
        return validate;
    }

    private static void Render(IEnumerable<SloStatus> statuses, IEnumerable<Alert> firing)
    {
        if (Console.IsOutputRedirected)
        {
            // Piped output has no terminal width; a wide table stays readable in files and logs.
            AnsiConsole.Profile.Width = 200;
        }

        var firingList = firing.OrderBy(a => a.Severity, StringComparer.Ordinal).ThenBy(a => a.AlertId, StringComparer.Ordinal).ToList();
        var table = new Table().Title("SLO status").AddColumns("SLO", "SLI / model", "Target", "Period", "Evaluated at (event time)", "Budget remaining", "Burn rates: tier long/short (threshold)", "Firing");
        foreach (var status in statuses.OrderBy(s => s.Slo, StringComparer.Ordinal))
        {
            var tiers = string.Join(Environment.NewLine, status.Tiers.Select(t =>
            {
                var text = $"{Markup.Escape(t.Name)}: {Rate(t.LongBurnRate)}/{Rate(t.ShortBurnRate)} ({t.BurnRateThreshold.ToString("0.##", CultureInfo.InvariantCulture)})";
                return t.ConditionMet ? $"[red]{text}[/]" : text;
            }));
            var budgetColour = status.BudgetRemaining < 0 ? "red" : status.BudgetRemaining < 0.25 ? "yellow" : "green";
            var alertsOfSlo = firingList.Where(a => a.Name == status.Slo).Select(a => $"[red]{Markup.Escape(a.Severity)}[/] {Markup.Escape(a.Tier ?? a.Kind.ToString())}");
            table.AddRow(
                Markup.Escape(status.Slo),
                Markup.Escape($"{status.Sli} / {status.ModelName}"),
                status.Target.ToString("0.####", CultureInfo.InvariantCulture),
                Markup.Escape(status.Period),
                DateTimeOffset.FromUnixTimeMilliseconds(status.EvaluatedAtMs).ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture),
                $"[{budgetColour}]{status.BudgetRemaining.ToString("P2", CultureInfo.InvariantCulture)}[/] ({status.PeriodBad.ToString(CultureInfo.InvariantCulture)} bad of {status.PeriodTotal.ToString(CultureInfo.InvariantCulture)})",
                tiers,
                string.Join(Environment.NewLine, alertsOfSlo));
        }

        AnsiConsole.Write(table);
        var alerts = new Table().Title("Firing alerts").AddColumns("Alert", "Kind", "Severity", "Tier", "Since (event time)", "Burn long/short at firing", "Budget at firing", "Exhaustion in", "Value / threshold");
        foreach (var a in firingList)
        {
            alerts.AddRow(
                Markup.Escape(a.AlertId),
                a.Kind.ToString(),
                Markup.Escape(a.Severity),
                Markup.Escape(a.Tier ?? ""),
                DateTimeOffset.FromUnixTimeMilliseconds(a.StartedAtMs).ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture),
                a.LongBurnRate is null ? "" : $"{Rate(a.LongBurnRate)}/{Rate(a.ShortBurnRate)}",
                a.BudgetRemaining?.ToString("P1", CultureInfo.InvariantCulture) ?? "",
                a.TimeToExhaustionMs is { } tte ? TimeSpan.FromMilliseconds(tte).ToString(@"d\d\ hh\h\ mm\m", CultureInfo.InvariantCulture) : "",
                a.Value is { } v ? $"{v.ToString("0.####", CultureInfo.InvariantCulture)} / {a.Threshold?.ToString("0.####", CultureInfo.InvariantCulture)}" : "");
        }

        if (firingList.Count == 0)
        {
            AnsiConsole.MarkupLine("[green]No alerts firing.[/]");
        }
        else
        {
            AnsiConsole.Write(alerts);
        }
    }

    private static string Rate(double? rate) => rate?.ToString("0.##", CultureInfo.InvariantCulture) ?? "-";

    /// <summary>Reads a compacted topic from its low to its high watermark and keeps the newest value per key.</summary>
    private static Dictionary<string, T> ReadLatest<T>(KafkaOptions options, string topic, EventCodec codec, TimeSpan timeout, CancellationToken cancellationToken, Func<T, T, bool> newer)
        where T : class
    {
        var latest = new Dictionary<string, T>(StringComparer.Ordinal);
        var config = KafkaClientConfig.Consumer(options, $"streammon-slo-status-{Guid.NewGuid():N}", "streammon-slo-status");
        using var consumer = new ConsumerBuilder<byte[], byte[]>(config).Build();
        var partitions = options.Topics.ResultPartitions;
        for (var p = 0; p < partitions && !cancellationToken.IsCancellationRequested; p++)
        {
            PartitionRangeReader.ReadAll(consumer, new TopicPartition(topic, p), DateTime.UtcNow + timeout, result =>
            {
                if (result.Message.Value is { } value && codec.TryDeserialize<T>(value, out var item, out _))
                {
                    var key = result.Message.KeyString();
                    if (!latest.TryGetValue(key, out var existing) || newer(existing, item!))
                    {
                        latest[key] = item!;
                    }
                }
            });
        }

        return latest;
    }
}
