using System.Diagnostics;
using System.Globalization;
using StreamMonitor.Contracts;
using StreamMonitor.Slo;

// Single-threaded (the alerter is one consumer loop). N SLOs = N/2 models x (latency, availability), each on the
// Workbook's four default tiers over 30 days; one 10 s latency result per model and window, over `hours` of event time.
// Baseline: input in window order, each window evaluated as soon as its last result is applied (lateness 0, no
// watermark): what evaluating in arrival order costs when arrival order happens to be window order.
// Measured: the same results delivered through 4 partitions with up to 30 s of event-time disorder, a cross-partition
// LaneWatermark, ticks released 1 min of event time behind it. The ratio is what watermark evaluation costs.
var sloCount = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 20;
var hours = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 24;
const long Start = 1_763_942_400_000;
const long WindowMs = 10_000;
var models = Math.Max(1, sloCount / 2);
var windows = (int)(hours * 3_600_000L / WindowMs);

var slos = Enumerable.Range(0, models).SelectMany(m => new[] { SliKind.Latency, SliKind.Availability }.Select(kind => new SloDefinition
{
    Name = $"model{m}-{kind.ToString().ToLowerInvariant()}",
    Service = "scorer",
    Model = $"model{m}",
    Sli = kind,
    LatencyThresholdUs = kind == SliKind.Latency ? 50_000 : null,
    Target = 0.999,
    Period = SloPeriod.RollingOf(TimeSpan.FromDays(30)),
    Tiers = DefaultTiers.For(TimeSpan.FromDays(30)),
})).Take(Math.Max(1, sloCount)).ToList();

var random = new Random(1);
var results = new List<(LatencyWindowResult Result, int Partition, long ArrivalMs)>(windows * models);
for (var w = 0; w < windows; w++)
{
    var start = Start + (w * WindowMs);
    for (var m = 0; m < models; m++)
    {
        var count = 500L;
        var errors = (w / 360) % 24 == 5 ? 40L : random.Next(0, 4) == 0 ? 1 : 0; // an hour of errors a day: alerts fire and resolve
        var result = new LatencyWindowResult
        {
            ModelName = $"model{m}",
            ModelVersion = "1",
            WindowStartMs = start,
            WindowSizeMs = WindowMs,
            Count = count,
            ErrorCount = errors,
            Stages = [new StageLatency { Stage = "e2e", Count = count - errors, P95Us = 20_000 + random.Next(0, 1000) }],
            LatencySlis = [new LatencySli { ThresholdUs = 50_000, Good = count - errors - (random.Next(0, 4) == 0 ? 1 : 0), Total = count }],
        };
        results.Add((result, (int)((uint)HashCode.Combine(m, w) % 4), start + WindowMs + random.Next(0, 30_000)));
    }
}

var inOrder = results.Select(r => r.Result).ToList();
var delivered = results.OrderBy(r => r.ArrivalMs).ToList();
Console.WriteLine($"StreamMonitor alerter benchmark ({Environment.ProcessorCount} cores): {slos.Count} SLOs x 4 tiers, {models} models, {windows} windows of 10 s ({hours} h of event time), {results.Count} results");
Console.WriteLine();

var baselineOptions = new EvaluatorOptions { AllowedLateness = TimeSpan.Zero };
var watermarkOptions = new EvaluatorOptions { AllowedLateness = TimeSpan.FromMinutes(1) };

// Warm-up, then the best of three runs each (the machine is shared).
Run(false);
Run(true);
var baseline = Enumerable.Range(0, 3).Select(_ => Run(false)).MaxBy(r => r.TicksPerSecond)!;
var measured = Enumerable.Range(0, 3).Select(_ => Run(true)).MaxBy(r => r.TicksPerSecond)!;
Print("baseline: window order, no watermark", baseline);
Print("watermark: 4 partitions, 30 s disorder, 1 min lateness", measured);
Console.WriteLine();
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ratio (watermark / baseline, windows per second): {measured.TicksPerSecond / baseline.TicksPerSecond:0.00}"));
if (baseline.Transitions != measured.Transitions)
{
    Console.WriteLine($"note: transitions differ ({baseline.Transitions} vs {measured.Transitions}): with the watermark the last minute of event time is not evaluated yet");
}

Figures Run(bool withWatermark)
{
    var evaluator = new AlertEvaluator(slos, withWatermark ? watermarkOptions : baselineOptions);
    var watermark = new LaneWatermark(TimeSpan.FromMinutes(15));
    var ticks = 0L;
    var statuses = 0L;
    var transitions = 0L;
    var stopwatch = Stopwatch.StartNew();
    if (withWatermark)
    {
        foreach (var (result, partition, _) in delivered)
        {
            evaluator.Apply(result);
            if (watermark.Observe(partition.ToString(CultureInfo.InvariantCulture), result.WindowStartMs + result.WindowSizeMs) is { } now)
            {
                Count(evaluator.AdvanceTo(now));
            }
        }
    }
    else
    {
        for (var i = 0; i < inOrder.Count; i++)
        {
            evaluator.Apply(inOrder[i]);
            if ((i + 1) % models == 0)
            {
                Count(evaluator.AdvanceTo(inOrder[i].WindowStartMs + inOrder[i].WindowSizeMs));
            }
        }
    }

    stopwatch.Stop();
    var seconds = stopwatch.Elapsed.TotalSeconds;
    return new Figures(ticks / seconds, statuses / seconds, results.Count / seconds, transitions, seconds);

    void Count(EvaluationOutput output)
    {
        ticks += output.Ticks;
        statuses += output.Statuses.Count;
        transitions += output.Alerts.Count;
    }
}

static void Print(string name, Figures f) => Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"{name,-56} {f.TicksPerSecond,10:N0} windows/s  {f.StatusesPerSecond,12:N0} SLO evaluations/s  {f.ResultsPerSecond,10:N0} results/s  {f.Transitions,4} transitions  ({f.Seconds:0.00} s)"));

internal sealed record Figures(double TicksPerSecond, double StatusesPerSecond, double ResultsPerSecond, long Transitions, double Seconds);
