using System.Globalization;
using StreamMonitor.Contracts;

namespace StreamMonitor.Slo;

/// <summary>
/// Drift alert of one (model, feature): fires when the feature drifted (DriftWindowResult.features[].drifted, i.e.
/// its statistic over its threshold) in at least K of its last N windows, resolves when fewer than K. An upserted
/// window replaces its earlier flag.
/// </summary>
internal sealed class DriftRule(string model, string feature, EvaluatorOptions options)
{
    private readonly SortedDictionary<long, DriftFlag> _windows = [];

    public string Model { get; } = model;

    public string Feature { get; } = feature;

    public Alert? Firing { get; set; }

    public string AlertId => $"drift/{Model}/{Feature}";

    public void Apply(long windowStartMs, long windowSizeMs, FeatureDrift drift, List<Alert> alerts)
    {
        if (_windows.Count >= options.DriftN && windowStartMs < _windows.Keys.First())
        {
            return;
        }

        _windows[windowStartMs] = new DriftFlag(windowStartMs, drift.Drifted, drift.DriftScore, drift.Threshold);
        while (_windows.Count > options.DriftN)
        {
            _windows.Remove(_windows.Keys.First());
        }

        var newest = _windows.Values.Last();
        var now = newest.WindowStartMs + windowSizeMs;
        var drifted = _windows.Values.Count(w => w.Drifted);
        if (drifted >= options.DriftK && Firing is null)
        {
            Firing = Build(AlertState.FIRING, now, now, drifted, newest);
            alerts.Add(Firing);
        }
        else if (drifted < options.DriftK && Firing is { } firing)
        {
            alerts.Add(Build(AlertState.RESOLVED, firing.StartedAtMs, now, drifted, newest));
            Firing = null;
        }
    }

    private Alert Build(AlertState state, long startedAt, long now, int drifted, DriftFlag newest) => new()
    {
        AlertId = AlertId,
        Kind = AlertKind.FEATURE_DRIFT,
        State = state,
        Severity = options.DriftSeverity,
        Name = $"drift {Feature}",
        ModelName = Model,
        Value = newest.Score,
        Threshold = newest.Threshold,
        StartedAtMs = startedAt,
        EventTimeMs = now,
        Summary = string.Create(CultureInfo.InvariantCulture,
            $"Feature {Feature} of model {Model} drifted in {drifted} of its last {_windows.Count} windows (alert at {options.DriftK} of {options.DriftN}); latest score {newest.Score:0.####}, threshold {newest.Threshold:0.####}"),
        Labels = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["alertname"] = "FeatureDrift",
            ["model"] = Model,
            ["feature"] = Feature,
            ["severity"] = options.DriftSeverity,
        },
    };

    public DriftRuleState Capture() => new() { Model = Model, Feature = Feature, Windows = [.. _windows.Values], Firing = Firing };

    public void Restore(DriftRuleState state)
    {
        foreach (var w in state.Windows)
        {
            _windows[w.WindowStartMs] = w;
        }

        Firing = state.Firing;
    }
}
