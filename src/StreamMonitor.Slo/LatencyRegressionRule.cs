using System.Globalization;
using StreamMonitor.Contracts;

namespace StreamMonitor.Slo;

/// <summary>
/// Latency-regression alert of one model: a window regresses when its e2e p95 exceeds the baseline by more than
/// the configured share; the alert fires once consecutive regressed windows cover the sustain span, and resolves
/// at the first window that does not regress. Baseline = configured p95, or the median of the judged windows' p95
/// over the trailing baseline span before the window (needs a minimum number of windows). With several versions in
/// one window the busiest version's p95 is judged. A window is judged when a later window of the model arrives,
/// so all its versions are in; windows older than the last judged one are ignored.
/// </summary>
internal sealed class LatencyRegressionRule(string model, EvaluatorOptions options)
{
    private readonly List<WindowP95> _history = [];
    private readonly List<long> _sorted = [];
    private readonly Dictionary<string, VersionP95> _pending = new(StringComparer.Ordinal);
    private long? _pendingStart;
    private long? _regressedSince;

    public string Model { get; } = model;

    public Alert? Firing { get; set; }

    public string AlertId => $"latency-regression/{Model}";

    public void Apply(long windowStartMs, long windowSizeMs, string version, long count, long p95Us, List<Alert> alerts)
    {
        if (_pendingStart is { } pending && windowStartMs < pending)
        {
            return;
        }

        if (_pendingStart is { } judged && windowStartMs > judged)
        {
            Judge(judged, windowSizeMs, alerts);
        }

        _pendingStart = windowStartMs;
        _pending[version] = new VersionP95(version, count, p95Us);
    }

    private void Judge(long start, long sizeMs, List<Alert> alerts)
    {
        var busiest = _pending.Values.OrderByDescending(v => v.Count).ThenBy(v => v.Version, StringComparer.Ordinal).First();
        _pending.Clear();
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
            ? string.Create(CultureInfo.InvariantCulture, $"Model {Model}: e2e p95 {p95} us is more than {options.LatencyRegressionShare:P0} above its baseline {baseline:0} us for {Durations.Format(TimeSpan.FromMilliseconds(now - startedAt))}")
            : string.Create(CultureInfo.InvariantCulture, $"Model {Model}: e2e p95 {p95} us is back within {options.LatencyRegressionShare:P0} of its baseline {baseline:0} us"),
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
        PendingStartMs = _pendingStart,
        Pending = [.. _pending.Values.OrderBy(v => v.Version, StringComparer.Ordinal)],
        History = [.. _history],
        RegressedSinceMs = _regressedSince,
        Firing = Firing,
    };

    public void Restore(LatencyRegressionState state)
    {
        _pendingStart = state.PendingStartMs;
        foreach (var v in state.Pending)
        {
            _pending[v.Version] = v;
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
