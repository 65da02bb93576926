using System.Globalization;
using StreamMonitor.Contracts;

namespace StreamMonitor.Slo;

/// <summary>
/// Latency-regression alert of one model: a window regresses when its e2e p95 exceeds the baseline by more than
/// the configured share; the alert fires once consecutive regressed windows cover the sustain span, and resolves
/// at the first window that does not regress. Baseline = configured p95, or the median of the judged windows' p95
/// over the trailing baseline span before the window (needs a minimum number of windows). With several versions in
/// one window the busiest version's p95 is judged (ties: the smallest version). Windows are stored as they arrive and
/// judged in window order at the tick of their end, so every version that arrived before the tick is in; a window
/// arriving after its tick is ignored (the caller counts it as late).
/// </summary>
internal sealed class LatencyRegressionRule(string model, EvaluatorOptions options)
{
    private readonly List<WindowP95> _history = [];
    private readonly List<long> _sorted = [];
    private readonly SortedDictionary<long, Dictionary<string, VersionP95>> _pending = [];
    private long? _judgedToMs;
    private long? _regressedSince;

    public string Model { get; } = model;

    public Alert? Firing { get; set; }

    public string AlertId => $"latency-regression/{Model}";

    /// <summary>Stores one version's p95 for a window; returns false when that window was already judged (too late to count).</summary>
    public bool Upsert(long windowStartMs, long windowSizeMs, string version, long count, long p95Us)
    {
        if (_judgedToMs is { } judged && WindowTime.End(windowStartMs, windowSizeMs) <= judged)
        {
            return false;
        }

        if (!_pending.TryGetValue(windowStartMs, out var versions))
        {
            versions = new Dictionary<string, VersionP95>(StringComparer.Ordinal);
            _pending[windowStartMs] = versions;
        }

        versions[version] = new VersionP95(version, count, p95Us, windowStartMs);
        return true;
    }

    /// <summary>The tick at <paramref name="tickMs"/>: judges the window ending there, if it holds a result.</summary>
    public void EvaluateAt(long tickMs, long windowSizeMs, List<Alert> alerts)
    {
        _judgedToMs = tickMs;
        if (_pending.Remove(tickMs - windowSizeMs, out var versions))
        {
            Judge(tickMs - windowSizeMs, windowSizeMs, versions, alerts);
        }
    }

    private void Judge(long start, long sizeMs, Dictionary<string, VersionP95> versions, List<Alert> alerts)
    {
        var busiest = versions.Values.OrderByDescending(v => v.Count).ThenBy(v => v.Version, StringComparer.Ordinal).First();
        var spanStart = start - (long)options.LatencyBaselineSpan.TotalMilliseconds;
        while (_history.Count > 0 && _history[0].WindowStartMs < spanStart)
        {
            _sorted.RemoveAt(_sorted.BinarySearch(_history[0].P95Us) is var i && i >= 0 ? i : ~i);
            _history.RemoveAt(0);
        }

        double? baseline = options.LatencyBaselineP95Us is { } fixedBaseline ? fixedBaseline
            : _sorted.Count >= options.LatencyBaselineMinWindows && _sorted.Count > 0 ? Median() : null;
        var now = start + sizeMs;
        var limit = baseline * (1 + options.LatencyRegressionShare);
        if (limit is { } l && busiest.P95Us > l)
        {
            _regressedSince ??= start;
            if (Firing is null && now - _regressedSince.Value >= (long)options.LatencyRegressionSustain.TotalMilliseconds)
            {
                Firing = Build(AlertState.FIRING, _regressedSince.Value, now, busiest.P95Us, baseline!.Value);
                alerts.Add(Firing);
            }
        }
        else
        {
            _regressedSince = null;
            if (Firing is { } firing)
            {
                alerts.Add(Build(AlertState.RESOLVED, firing.StartedAtMs, now, busiest.P95Us, baseline ?? 0));
                Firing = null;
            }
        }

        if (busiest.Count > 0)
        {
            _history.Add(new WindowP95(start, busiest.P95Us));
            var at = _sorted.BinarySearch(busiest.P95Us);
            _sorted.Insert(at >= 0 ? at : ~at, busiest.P95Us);
        }
    }

    private double Median()
    {
        var n = _sorted.Count;
        return n % 2 == 1 ? _sorted[n / 2] : (_sorted[(n / 2) - 1] + _sorted[n / 2]) / 2.0;
    }

    private Alert Build(AlertState state, long startedAt, long now, long p95, double baseline) => new()
    {
        AlertId = AlertId,
        Kind = AlertKind.LATENCY_REGRESSION,
        State = state,
        Severity = options.LatencyRegressionSeverity,
        Name = "latency regression",
        ModelName = Model,
        Value = p95,
        Threshold = baseline * (1 + options.LatencyRegressionShare),
        StartedAtMs = startedAt,
        EventTimeMs = now,
        Summary = state == AlertState.FIRING
            ? string.Create(CultureInfo.InvariantCulture, $"Model {Model}: e2e p95 {AlertValues.Latency(p95)} is more than {options.LatencyRegressionShare:P0} above its baseline {AlertValues.Latency(baseline)} for {Durations.Format(TimeSpan.FromMilliseconds(now - startedAt))}")
            : string.Create(CultureInfo.InvariantCulture, $"Model {Model}: e2e p95 {AlertValues.Latency(p95)} is back within {options.LatencyRegressionShare:P0} of its baseline {AlertValues.Latency(baseline)}"),
        Labels = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["alertname"] = "LatencyRegression",
            ["model"] = Model,
            ["severity"] = options.LatencyRegressionSeverity,
        },
    };

    public LatencyRegressionState Capture() => new()
    {
        Model = Model,
        JudgedToMs = _judgedToMs,
        Pending = [.. _pending.Values.SelectMany(v => v.Values.OrderBy(p => p.Version, StringComparer.Ordinal))],
        History = [.. _history],
        RegressedSinceMs = _regressedSince,
        Firing = Firing,
    };

    public void Restore(LatencyRegressionState state)
    {
        _judgedToMs = state.JudgedToMs;
        foreach (var v in state.Pending)
        {
            if (!_pending.TryGetValue(v.WindowStartMs, out var versions))
            {
                versions = new Dictionary<string, VersionP95>(StringComparer.Ordinal);
                _pending[v.WindowStartMs] = versions;
            }

            versions[v.Version] = v;
        }

        foreach (var h in state.History)
        {
            _history.Add(h);
            var at = _sorted.BinarySearch(h.P95Us);
            _sorted.Insert(at >= 0 ? at : ~at, h.P95Us);
        }

        _regressedSince = state.RegressedSinceMs;
        Firing = state.Firing;
    }
}
