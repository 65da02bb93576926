using System.Globalization;
using StreamMonitor.Contracts;

namespace StreamMonitor.Slo;

/// <summary>
/// Drift alert of one (model, feature): fires when the feature drifted (DriftWindowResult.features[].drifted, i.e.
/// its statistic over its threshold) in at least K of its last N windows, resolves when fewer than K. Windows are
/// stored as they arrive (an upserted window replaces its earlier flag) and judged at ticks, in window order: the
/// tick at a window's end looks at the last N windows ending at or before it. With several model versions in one
/// window the busiest version's flag counts (ties: the smallest version, ordinal), so arrival order never decides.
/// </summary>
internal sealed class DriftRule(string model, string feature, EvaluatorOptions options)
{
    private readonly SortedDictionary<long, Dictionary<string, DriftFlag>> _windows = [];
    private long? _evaluatedToMs;
    private long _retainFromMs = long.MinValue;

    public string Model { get; } = model;

    public string Feature { get; } = feature;

    public Alert? Firing { get; set; }

    public string AlertId => $"drift/{Model}/{Feature}";

    /// <summary>Stores one version's flag for a window; returns false when the window is older than the retained N (it can no longer count).</summary>
    public bool Upsert(long windowStartMs, string version, long count, FeatureDrift drift)
    {
        if (windowStartMs < _retainFromMs)
        {
            return false;
        }

        if (!_windows.TryGetValue(windowStartMs, out var versions))
        {
            versions = new Dictionary<string, DriftFlag>(StringComparer.Ordinal);
            _windows[windowStartMs] = versions;
        }

        versions[version] = new DriftFlag(windowStartMs, drift.Drifted, drift.DriftScore, drift.Threshold, version, count);
        return true;
    }

    /// <summary>The tick at <paramref name="tickMs"/>: judges k-of-n when the window ending there holds a result.</summary>
    public void EvaluateAt(long tickMs, long windowSizeMs, List<Alert> alerts)
    {
        _evaluatedToMs = tickMs;
        if (!_windows.ContainsKey(tickMs - windowSizeMs))
        {
            return;
        }

        var last = _windows.Where(w => w.Key < tickMs).TakeLast(options.DriftN).Select(w => Decisive(w.Value)).ToList();
        _retainFromMs = last[0].WindowStartMs;
        foreach (var old in _windows.Keys.Where(k => k < _retainFromMs).ToList())
        {
            _windows.Remove(old);
        }

        var newest = last[^1];
        var drifted = last.Count(w => w.Drifted);
        if (drifted >= options.DriftK && Firing is null)
        {
            Firing = Build(AlertState.FIRING, tickMs, tickMs, drifted, last.Count, newest);
            alerts.Add(Firing);
        }
        else if (drifted < options.DriftK && Firing is { } firing)
        {
            alerts.Add(Build(AlertState.RESOLVED, firing.StartedAtMs, tickMs, drifted, last.Count, newest));
            Firing = null;
        }
    }

    private static DriftFlag Decisive(Dictionary<string, DriftFlag> versions) =>
        versions.Values.OrderByDescending(v => v.Count).ThenBy(v => v.Version, StringComparer.Ordinal).First();

    private Alert Build(AlertState state, long startedAt, long now, int drifted, int windows, DriftFlag newest) => new()
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
            $"Feature {Feature} of model {Model} drifted in {drifted} of its last {windows} windows (alert at {options.DriftK} of {options.DriftN}); latest score {newest.Score:0.####}, threshold {newest.Threshold:0.####}"),
        Labels = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["alertname"] = "FeatureDrift",
            ["model"] = Model,
            ["feature"] = Feature,
            ["severity"] = options.DriftSeverity,
        },
    };

    public DriftRuleState Capture() => new()
    {
        Model = Model,
        Feature = Feature,
        Windows = [.. _windows.Values.SelectMany(v => v.Values.OrderBy(f => f.Version, StringComparer.Ordinal))],
        EvaluatedToMs = _evaluatedToMs,
        RetainFromMs = _retainFromMs == long.MinValue ? null : _retainFromMs,
        Firing = Firing,
    };

    public void Restore(DriftRuleState state)
    {
        foreach (var w in state.Windows)
        {
            if (!_windows.TryGetValue(w.WindowStartMs, out var versions))
            {
                versions = new Dictionary<string, DriftFlag>(StringComparer.Ordinal);
                _windows[w.WindowStartMs] = versions;
            }

            versions[w.Version] = w;
        }

        _evaluatedToMs = state.EvaluatedToMs;
        _retainFromMs = state.RetainFromMs ?? long.MinValue;
        Firing = state.Firing;
    }
}
