using System.Globalization;
using Microsoft.Extensions.Logging;
using Spectre.Console;
using StreamMonitor.Contracts;
using StreamMonitor.Models.Training;
using StreamMonitor.Reports;
using StreamMonitor.Stack;
using StreamMonitor.Traffic;

namespace StreamMonitor.Demo;

/// <summary>What a finished demo produced.</summary>
public sealed record DemoResult(TrafficPlan Plan, TrafficTotals Totals, IReadOnlyList<EventTimeRange> Phases, ResultLog Results, RunSummary Summary, DemoLocations Locations);

/// <summary>
/// Runs the demo on a started <see cref="DemoStack"/>: builds the models and the drift reference, starts the three
/// services, produces the phased traffic while showing live progress, waits for the pipeline to settle, and prints and
/// writes the summary. The latency regression hot-loads the heavy model as a new version at its phase start; the drift
/// phase rolls the light model back in as a newer version, so the two incidents are separate.
/// </summary>
public sealed class DemoRunner
{
    private static readonly TimeSpan SettleQuiet = TimeSpan.FromSeconds(6);
    private static readonly TimeSpan SettleMax = TimeSpan.FromSeconds(60);
    private readonly DemoOptions _options;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _logger;
    private readonly IAnsiConsole _console;

    /// <summary>Creates a runner writing to <paramref name="console"/>.</summary>
    public DemoRunner(DemoOptions options, ILoggerFactory loggers, IAnsiConsole console)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _loggers = loggers ?? throw new ArgumentNullException(nameof(loggers));
        _console = console ?? throw new ArgumentNullException(nameof(console));
        _logger = loggers.CreateLogger("streammon.demo");
    }

    /// <summary>Runs the whole demo on the stack; the stack stays up (the caller disposes it).</summary>
    public async Task<DemoResult> RunAsync(DemoStack stack, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stack);
        _console.MarkupLine("Building the models (MLP v1, its widened twin v2) and the drift reference from the data set...");
        var models = await Task.Run(() => DemoModels.Prepare(_options, stack.WorkDirectory, _logger), cancellationToken);
        DemoSettings.WriteFile(_options, models, Path.Combine(stack.WorkDirectory, "service-settings.json"));
        await StartServicesAsync(stack, models, cancellationToken);

        var heldOut = Dataset.LoadCsv(models.HeldOutCsv);
        var traffic = new TrafficOptions
        {
            ModelName = _options.ModelName,
            RatePerSecond = _options.RatePerSecond,
            Duration = _options.Duration,
            TimeCompression = _options.TimeCompression,
            Seed = _options.Seed,
            StartTimeMs = EventTimeOrigin(DateTimeOffset.UtcNow, _options.Duration * _options.TimeCompression),
        };
        var plan = new TrafficPlan(traffic, heldOut);
        var runner = new TrafficRunner(plan, stack.Kafka, _loggers.CreateLogger<TrafficRunner>());
        using var reader = new ResultTopicReader(stack.Kafka, _logger);
        _console.MarkupLine(Markup.Escape(string.Create(CultureInfo.InvariantCulture,
            $"Traffic: {plan.TotalEvents} events at {traffic.RatePerSecond}/s over {Durations.Format(traffic.Duration)} of wall clock = {SummaryMarkdown.Time(plan.StartEventTimeMs)} to {SummaryMarkdown.Time(plan.EndEventTimeMs)} of event time ({traffic.TimeCompression:F0}x).")));

        var run = runner.RunAsync((phase, ct) => OnPhaseStartAsync(phase, models, ct), cancellationToken);
        await ShowLiveAsync(plan, runner, reader, run, cancellationToken);
        var totals = await run;
        await SettleAsync(reader, cancellationToken);

        var phases = plan.Phases.Select(p => new EventTimeRange(p.Name, p.StartEventTimeMs, p.EndEventTimeMs)).ToList();
        var summary = RunSummary.Create(reader.Log, phases);
        var summaryFile = Path.Combine(stack.WorkDirectory, "summary.md");
        await File.WriteAllTextAsync(summaryFile, "# StreamMonitor demo summary\n\n" + SummaryMarkdown.Render(summary), cancellationToken);
        var topics = stack.Kafka.Topics;
        var locations = new DemoLocations(
            stack.Kafka.BootstrapServers,
            stack.Influx.Url,
            stack.Influx.Database,
            [topics.Features, topics.Predictions, topics.Labels, topics.LatencyResults, topics.DriftResults, topics.QualityResults, topics.SloStatus, topics.Alerts, topics.DeadLetter],
            Path.GetFullPath(_options.DashboardsDirectory),
            stack.WorkDirectory,
            summaryFile);
        foreach (var renderable in SummaryView.Render(summary, locations))
        {
            _console.Write(renderable);
            _console.WriteLine();
        }

        return new DemoResult(plan, totals, phases, reader.Log, summary, locations);
    }

    /// <summary>
    /// Event time of the first event: whole minutes before now, so the run's event-time span ends about now and the
    /// dashboards' default "last hours" ranges show it.
    /// </summary>
    public static long EventTimeOrigin(DateTimeOffset now, TimeSpan span)
    {
        var end = now.ToUnixTimeMilliseconds();
        var start = end - (long)span.TotalMilliseconds;
        return start - (start % 60_000);
    }

    private async Task StartServicesAsync(DemoStack stack, DemoModelSet models, CancellationToken cancellationToken)
    {
        var common = stack.CommonEnvironment();
        foreach (var (service, settings) in DemoSettings.ServiceEnvironment(_options, models))
        {
            var env = new Dictionary<string, string>(common, StringComparer.Ordinal);
            foreach (var (key, value) in settings)
            {
                env[key] = value;
            }

            _console.MarkupLine(Markup.Escape($"Starting {service}..."));
            await stack.StartServiceAsync(service, service, env, cancellationToken);
        }
    }

    private Task OnPhaseStartAsync(TrafficPhase phase, DemoModelSet models, CancellationToken cancellationToken)
    {
        switch (phase.Kind)
        {
            case PhaseKind.LatencyRegression:
                var heavy = models.PublishHeavy();
                _logger.LogInformation("Phase {Phase}: hot-loaded the heavy model as {Model} version {Version}", phase.Name, _options.ModelName, heavy);
                break;
            case PhaseKind.FeatureDrift when models.HeavyPublished:
                var rollback = models.PublishRollback();
                _logger.LogInformation("Phase {Phase}: rolled the light model back in as version {Version}", phase.Name, rollback);
                break;
        }

        return Task.CompletedTask;
    }

    private async Task ShowLiveAsync(TrafficPlan plan, TrafficRunner runner, ResultTopicReader reader, Task traffic, CancellationToken cancellationToken)
    {
        if (_options.Interactive)
        {
            await _console.Live(LiveView.Render(plan, runner.Progress, reader.Log)).AutoClear(false).StartAsync(async context =>
            {
                while (!traffic.IsCompleted)
                {
                    await Task.WhenAny(traffic, Task.Delay(1000, cancellationToken));
                    reader.CatchUp(TimeSpan.FromMilliseconds(500), cancellationToken);
                    context.UpdateTarget(LiveView.Render(plan, runner.Progress, reader.Log));
                }
            });
            return;
        }

        var next = DateTime.UtcNow;
        while (!traffic.IsCompleted)
        {
            await Task.WhenAny(traffic, Task.Delay(1000, cancellationToken));
            reader.CatchUp(TimeSpan.FromMilliseconds(500), cancellationToken);
            if (DateTime.UtcNow >= next)
            {
                _console.WriteLine(LiveView.Line(plan, runner.Progress, reader.Log));
                next = DateTime.UtcNow.AddSeconds(10);
            }
        }
    }

    private async Task SettleAsync(ResultTopicReader reader, CancellationToken cancellationToken)
    {
        // The services finish the tail of the traffic: wait until no new result arrives for a while (bounded).
        _console.MarkupLine("Traffic done; waiting for the pipeline to settle...");
        var deadline = DateTime.UtcNow + SettleMax;
        var quietSince = DateTime.UtcNow;
        while (DateTime.UtcNow < deadline)
        {
            await Task.Delay(1000, cancellationToken);
            if (reader.CatchUp(TimeSpan.FromSeconds(2), cancellationToken) > 0)
            {
                quietSince = DateTime.UtcNow;
            }
            else if (DateTime.UtcNow - quietSince >= SettleQuiet)
            {
                return;
            }
        }

        _logger.LogWarning("Results were still arriving after {Seconds} s; summarising what is there", SettleMax.TotalSeconds);
    }
}
