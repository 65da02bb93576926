using System.Globalization;
using System.Text.Json;

namespace StreamMonitor.Demo;

/// <summary>
/// The services' settings for the demo, as environment variables (Section__Key). Durations the services read in event
/// time are scaled to the demo's compressed clock where the defaults assume real time (a 1 h sustain would outlast the
/// regression phase); everything else keeps the services' defaults from their appsettings.json.
/// </summary>
public static class DemoSettings
{
    /// <summary>End-to-end latency threshold of the demo's latency SLO (config/demo-slos.yaml); the aggregator counts good/total at it.</summary>
    public const long LatencySloThresholdUs = 10_000;

    /// <summary>ONNX Runtime intra-op threads of the demo's scorer (one: the demo shares two cores with the whole stack).</summary>
    public const int ScorerIntraOpThreads = 1;

    /// <summary>
    /// The demo's drift decision. The reference is 455 training rows and the traffic resamples 114 held-out rows: two
    /// small samples of one population, whose normed Wasserstein distance per feature is already up to 0.40 however
    /// large the window (a fixed offset that KS, the small-reference default, flags in most windows). So the demo
    /// decides by normed Wasserstein, as Evidently does for large references, with the threshold above that floor
    /// (the drift phase's shift reaches 0.46-1.5), and each decision also needs the two-sample KS test at FamilyAlpha / 31:
    /// a window of 50-250 events drawn from the reference population flags any feature with probability ≤ 5 %
    /// (tests: DriftFalsePositiveTests; the demo's own traffic: DemoDriftDecisionTests).
    /// </summary>
    public static StreamMonitor.Analytics.Drift.DriftThresholds DriftThresholds { get; } = new() { SmallReferenceMax = 100, WassersteinNormed = 0.43, FamilyAlpha = 0.05 };

    /// <summary>Per service, in start order: scorer, aggregator, alerter.</summary>
    public static IReadOnlyList<(string Service, IReadOnlyDictionary<string, string> Environment)> ServiceEnvironment(DemoOptions options, DemoModelSet models)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(models);
        var scorer = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["Scorer__ModelStorePath"] = models.StoreRoot,
            ["Scorer__Models__0"] = options.ModelName,
            ["Scorer__QueueDelay"] = "1ms",
            ["Scorer__IntraOpThreads"] = ScorerIntraOpThreads.ToString(CultureInfo.InvariantCulture),
        };
        var aggregator = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["Aggregator__Profiles__" + options.ModelName] = models.ProfilePath,

            // A third, 5 min window: at the demo's rate a minute holds too few events for stable drift statistics.
            ["Aggregator__Windows__2"] = "5m",

            // Quality windows of the size the alerter's quality rule reads (Alerter__QualityWindow below).
            ["Aggregator__Quality__Window"] = "5m",

            ["Aggregator__DriftThresholds__SmallReferenceMax"] = DriftThresholds.SmallReferenceMax.ToString(CultureInfo.InvariantCulture),
            ["Aggregator__DriftThresholds__WassersteinNormed"] = DriftThresholds.WassersteinNormed.ToString("R", CultureInfo.InvariantCulture),
            ["Aggregator__DriftThresholds__FamilyAlpha"] = DriftThresholds.FamilyAlpha.ToString("R", CultureInfo.InvariantCulture),
            // Index 0 replaces the first configured threshold (50 ms in appsettings.json) with the demo SLO's.
            ["Aggregator__SliThresholdsUs__0"] = LatencySloThresholdUs.ToString(CultureInfo.InvariantCulture),
        };
        var alerter = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["Alerter__SloFile"] = Path.GetFullPath(options.SloFile),
            ["Alerter__LatencyRegressionSustain"] = "15m",
            ["Alerter__DriftWindow"] = "5m",
            ["Alerter__QualityWindow"] = "5m",

            // At 60x a minute of event time is a second of wall time: results the aggregator re-emits after its merge
            // grace (a lagging scorer partition) must still reach the alerter before their tick is evaluated: a result
            // counts while it trails its group's front, and its topic the front of all inputs, by at most lateness +
            // idle span. Drift is computed straight from the features, so latency results trail it by the scorer's
            // lag: 7 s of wall time (3m + 4m) was seen to be too little on a loaded 2-core machine, 13 s is not.
            // Results that trail by design are quality revisions, covered by their own lateness.
            ["Alerter__AllowedLateness"] = "3m",
            ["Alerter__LaneIdleSpan"] = "10m",
        };
        return [("scorer", scorer), ("aggregator", aggregator), ("alerter", alerter)];
    }

    /// <summary>Writes the settings as JSON ({service: {key: value}}) for `streammon replay --settings`.</summary>
    public static string WriteFile(DemoOptions options, DemoModelSet models, string path)
    {
        var json = ServiceEnvironment(options, models).ToDictionary(s => s.Service, s => s.Environment, StringComparer.Ordinal);
        File.WriteAllText(path, JsonSerializer.Serialize(json, new JsonSerializerOptions { WriteIndented = true }));
        return path;
    }
}
