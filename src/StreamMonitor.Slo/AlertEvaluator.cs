using System.Globalization;
using StreamMonitor.Contracts;

namespace StreamMonitor.Slo;

/// <summary>What one input produced: alert transitions and SLO statuses, in event-time order of evaluation.</summary>
public sealed class EvaluationOutput
{
    /// <summary>Alert transitions (firing or resolved).</summary>
    public List<Alert> Alerts { get; } = [];

    /// <summary>SLO statuses evaluated.</summary>
    public List<SloStatus> Statuses { get; } = [];

    /// <summary>Inputs ignored (other window size, unknown threshold); reason code to count.</summary>
    public List<string> Ignored { get; } = [];
}

/// <summary>
/// The alerter's whole decision logic, deterministic and in event time: feed it window results in log order and
/// it returns the alert transitions and SLO statuses; replaying the same results gives the same outputs at the
/// same event times. It owns one <see cref="SloEvaluator"/> per SLO, drift rules per (model, feature), latency
/// regression rules per model, and missing-data detection against the stream clock (max window end seen across
/// all inputs). Not thread-safe: one consumer loop drives it.
/// </summary>
public sealed class AlertEvaluator
{
    private readonly EvaluatorOptions _options;
    private readonly List<SloEvaluator> _slos;
    private readonly Dictionary<(string Model, string Feature), DriftRule> _drift = [];
    private readonly Dictionary<string, LatencyRegressionRule> _regressions = new(StringComparer.Ordinal);
    private long? _clockMs;
    private long? _clockStartMs;

    /// <summary>Creates the evaluator for validated SLOs.</summary>
    public AlertEvaluator(IReadOnlyList<SloDefinition> slos, EvaluatorOptions options)
    {
        ArgumentNullException.ThrowIfNull(slos);
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _slos = [.. slos.Select(s => new SloEvaluator(s, options))];
    }

    /// <summary>The per-SLO evaluators, in file order.</summary>
    public IReadOnlyList<SloEvaluator> Slos => _slos;

    /// <summary>Stream clock: max window end seen across all inputs.</summary>
    public long? ClockMs => _clockMs;

    /// <summary>Every alert firing now.</summary>
    public IEnumerable<Alert> Firing =>
        _slos.SelectMany(s => s.FiringAlerts.Concat(s.DataMissing is { } m ? [m] : Array.Empty<Alert>()))
            .Concat(_drift.Values.Where(d => d.Firing is not null).Select(d => d.Firing!))
            .Concat(_regressions.Values.Where(r => r.Firing is not null).Select(r => r.Firing!));

    /// <summary>Applies a latency window result (latency and availability SLIs, latency regression).</summary>
    public EvaluationOutput Observe(LatencyWindowResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var output = new EvaluationOutput();
        if (result.WindowSizeMs != (long)_options.ResultWindow.TotalMilliseconds || result.WindowStartMs % result.WindowSizeMs != 0)
        {
            // Other sizes, and hopping windows of the same size (overlapping), would count events twice.
            output.Ignored.Add("other_window_size");
            Tick(result.WindowStartMs + result.WindowSizeMs, output);
            return output;
        }

        foreach (var slo in _slos.Where(s => s.Slo.Model == result.ModelName && s.Slo.Sli != SliKind.Quality))
        {
            GoodTotal counts;
            if (slo.Slo.Sli == SliKind.Availability)
            {
                counts = new GoodTotal(result.Count - result.ErrorCount, result.Count);
            }
            else if (result.LatencySlis.FirstOrDefault(s => s.ThresholdUs == slo.Slo.LatencyThresholdUs) is { } sli)
            {
                counts = new GoodTotal(sli.Good, sli.Total);
            }
            else
            {
                output.Ignored.Add("latency_threshold_not_computed");
                continue;
            }

            Apply(slo, result.WindowStartMs, result.ModelVersion, counts, 0, output);
        }

        if (result.Stages.FirstOrDefault(s => s.Stage == "e2e") is { Count: > 0 } e2e)
        {
            if (!_regressions.TryGetValue(result.ModelName, out var rule))
            {
                rule = new LatencyRegressionRule(result.ModelName, _options);
                _regressions[result.ModelName] = rule;
            }

            rule.Apply(result.WindowStartMs, result.WindowSizeMs, result.ModelVersion, e2e.Count, e2e.P95Us, output.Alerts);
        }

        Tick(result.WindowStartMs + result.WindowSizeMs, output);
        return output;
    }

    /// <summary>Applies a quality window result; a later revision replaces the earlier one's counts exactly.</summary>
    public EvaluationOutput Observe(QualityWindowResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var output = new EvaluationOutput();
        if (result.WindowSizeMs != (long)_options.QualityWindow.TotalMilliseconds || result.WindowStartMs % result.WindowSizeMs != 0)
        {
            output.Ignored.Add("other_window_size");
        }
        else
        {
            foreach (var slo in _slos.Where(s => s.Slo.Model == result.ModelName && s.Slo.Sli == SliKind.Quality))
            {
                Apply(slo, result.WindowStartMs, result.ModelVersion, new GoodTotal(result.Correct, result.Labeled), result.Revision, output);
            }
        }

        Tick(result.WindowStartMs + result.WindowSizeMs, output);
        return output;
    }

    /// <summary>Applies a drift window result (k-of-n per feature).</summary>
    public EvaluationOutput Observe(DriftWindowResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var output = new EvaluationOutput();
        if (result.WindowSizeMs != (long)_options.DriftWindow.TotalMilliseconds)
        {
            output.Ignored.Add("other_window_size");
        }
        else
        {
            foreach (var feature in result.Features)
            {
                var key = (result.ModelName, feature.Feature);
                if (!_drift.TryGetValue(key, out var rule))
                {
                    rule = new DriftRule(result.ModelName, feature.Feature, _options);
                    _drift[key] = rule;
                }

                rule.Apply(result.WindowStartMs, result.WindowSizeMs, feature, output.Alerts);
            }
        }

        Tick(result.WindowStartMs + result.WindowSizeMs, output);
        return output;
    }

    private void Apply(SloEvaluator slo, long windowStartMs, string source, GoodTotal counts, long revision, EvaluationOutput output)
    {
        slo.Apply(windowStartMs, source, counts, revision, output.Alerts, output.Statuses);
        if (slo.DataMissing is { } missing)
        {
            var now = Math.Max(_clockMs ?? 0, windowStartMs + slo.WindowMs);
            output.Alerts.Add(MissingAlert(slo, AlertState.RESOLVED, missing.StartedAtMs, now));
            slo.DataMissing = null;
        }
    }

    /// <summary>Advances the stream clock and raises DATA_MISSING for SLOs whose results stopped.</summary>
    private void Tick(long windowEndMs, EvaluationOutput output)
    {
        _clockStartMs ??= windowEndMs;
        if (_clockMs is { } clock && windowEndMs <= clock)
        {
            return;
        }

        _clockMs = windowEndMs;
        foreach (var slo in _slos)
        {
            var span = (long)(slo.Slo.MissingDataAfter ?? _options.MissingDataAfter).TotalMilliseconds;
            var since = slo.LastDataMs ?? _clockStartMs.Value;
            if (slo.DataMissing is null && windowEndMs - since > span)
            {
                slo.DataMissing = MissingAlert(slo, AlertState.FIRING, windowEndMs, windowEndMs);
                output.Alerts.Add(slo.DataMissing);
            }
        }
    }

    private Alert MissingAlert(SloEvaluator slo, AlertState state, long startedAt, long now)
    {
        var span = slo.Slo.MissingDataAfter ?? _options.MissingDataAfter;
        var since = slo.LastDataMs is { } last
            ? "since " + DateTimeOffset.FromUnixTimeMilliseconds(last).ToString("u", CultureInfo.InvariantCulture)
            : "since the stream started";
        return new Alert
        {
            AlertId = $"data-missing/{slo.Slo.Name}",
            Kind = AlertKind.DATA_MISSING,
            State = state,
            Severity = _options.MissingDataSeverity,
            Name = slo.Slo.Name,
            ModelName = slo.Slo.Model,
            StartedAtMs = startedAt,
            EventTimeMs = now,
            Summary = state == AlertState.FIRING
                ? $"SLO {slo.Slo.Name}: no {slo.Slo.SliName} results for model {slo.Slo.Model} {since} (more than {Durations.Format(span)} of stream time); its burn rates cannot be evaluated"
                : $"SLO {slo.Slo.Name}: {slo.Slo.SliName} results for model {slo.Slo.Model} arrive again",
            Labels = new Dictionary<string, string>(slo.Slo.Labels, StringComparer.Ordinal)
            {
                ["alertname"] = "SloDataMissing",
                ["slo"] = slo.Slo.Name,
                ["model"] = slo.Slo.Model,
                ["severity"] = _options.MissingDataSeverity,
            },
        };
    }

    /// <summary>Captures the whole state for a checkpoint.</summary>
    public EvaluatorState Capture() => new()
    {
        ClockMs = _clockMs,
        ClockStartMs = _clockStartMs,
        Slos = [.. _slos.Select(s => s.Capture())],
        Drift = [.. _drift.Values.Select(d => d.Capture())],
        Regressions = [.. _regressions.Values.Select(r => r.Capture())],
    };

    /// <summary>Restores a checkpoint into this fresh evaluator; SLOs no longer configured are dropped.</summary>
    public void Restore(EvaluatorState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        _clockMs = state.ClockMs;
        _clockStartMs = state.ClockStartMs;
        foreach (var s in state.Slos)
        {
            _slos.FirstOrDefault(e => e.Slo.Name == s.Name)?.Restore(s);
        }

        foreach (var d in state.Drift)
        {
            var rule = new DriftRule(d.Model, d.Feature, _options);
            rule.Restore(d);
            _drift[(d.Model, d.Feature)] = rule;
        }

        foreach (var r in state.Regressions)
        {
            var rule = new LatencyRegressionRule(r.Model, _options);
            rule.Restore(r);
            _regressions[r.Model] = rule;
        }
    }
}
