using System.Globalization;
using StreamMonitor.Contracts;

namespace StreamMonitor.Slo;

/// <summary>
/// The alerter's whole decision logic, deterministic and in event time. Applying a window result only stores it,
/// keyed by window (an upsert: a re-emitted result or a higher quality revision replaces the earlier one); decisions
/// are taken at ticks, the window ends of a grid, in window order, when <see cref="AdvanceTo(GroupWatermarks)"/> is given
/// a watermark of the tick's group at least the tick + the allowed lateness. So the decision at a tick is a function of the results with windows
/// ending at or before it that were applied before the watermark passed it, not of their arrival order: feeding the
/// same results in any interleaving in which none is late gives the same outputs at the same event times. Three tick
/// groups: latency results (latency/availability SLOs, latency regression; grid ResultWindow, lateness
/// AllowedLateness), drift (grid DriftWindow, AllowedLateness) and quality SLOs (grid QualityWindow,
/// QualityAllowedLateness, so late-arriving labels are in). Missing data is decided at every tick of an SLO's group.
/// Not thread-safe: one consumer loop drives it.
/// </summary>
public sealed class AlertEvaluator
{
    private readonly EvaluatorOptions _options;
    private readonly List<SloEvaluator> _slos;
    private readonly Dictionary<(string Model, string Feature), DriftRule> _drift = [];
    private readonly Dictionary<string, LatencyRegressionRule> _regressions = new(StringComparer.Ordinal);
    private readonly TickClock _results;
    private readonly TickClock _driftTicks;
    private readonly TickClock _quality;
    private long? _clockStartMs;

    /// <summary>Creates the evaluator for validated SLOs.</summary>
    public AlertEvaluator(IReadOnlyList<SloDefinition> slos, EvaluatorOptions options)
    {
        ArgumentNullException.ThrowIfNull(slos);
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _slos = [.. slos.Select(s => new SloEvaluator(s, options))];
        _results = new TickClock(TickGroup.Latency, Ms(options.ResultWindow), Ms(options.AllowedLateness));
        _driftTicks = new TickClock(TickGroup.Drift, Ms(options.DriftWindow), Ms(options.AllowedLateness));
        _quality = new TickClock(TickGroup.Quality, Ms(options.QualityWindow), Ms(options.QualityAllowedLateness));
    }

    /// <summary>The per-SLO evaluators, in file order.</summary>
    public IReadOnlyList<SloEvaluator> Slos => _slos;

    /// <summary>Stream clock: the last latency-result tick evaluated (event time).</summary>
    public long? ClockMs => _results.LastTickMs;

    /// <summary>Every alert firing now.</summary>
    public IEnumerable<Alert> Firing =>
        _slos.SelectMany(s => s.FiringAlerts.Concat(s.DataMissing is { } m ? [m] : Array.Empty<Alert>()))
            .Concat(_drift.Values.Where(d => d.Firing is not null).Select(d => d.Firing!))
            .Concat(_regressions.Values.Where(r => r.Firing is not null).Select(r => r.Firing!));

    /// <summary>Stores a latency window result (latency and availability SLIs, latency regression); returns an <see cref="InputOutcome"/>.</summary>
    public string Apply(LatencyWindowResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (!OnGrid(_results, result.WindowStartMs, result.WindowSizeMs))
        {
            return InputOutcome.OtherWindowSize;
        }

        var outcome = _results.IsPast(result.WindowEndMs()) ? InputOutcome.Late : InputOutcome.Applied;
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
                outcome = InputOutcome.LatencyThresholdNotComputed;
                continue;
            }

            slo.Upsert(result.WindowStartMs, result.ModelVersion, counts, 0);
        }

        if (result.Stages.FirstOrDefault(s => s.Stage == "e2e") is { Count: > 0 } e2e)
        {
            if (!_regressions.TryGetValue(result.ModelName, out var rule))
            {
                rule = new LatencyRegressionRule(result.ModelName, _options);
                _regressions[result.ModelName] = rule;
            }

            rule.Upsert(result.WindowStartMs, result.WindowSizeMs, result.ModelVersion, e2e.Count, e2e.P95Us);
        }

        return outcome;
    }

    /// <summary>Stores a quality window result; a later revision replaces the earlier one's counts exactly.</summary>
    public string Apply(QualityWindowResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (!OnGrid(_quality, result.WindowStartMs, result.WindowSizeMs))
        {
            return InputOutcome.OtherWindowSize;
        }

        foreach (var slo in _slos.Where(s => s.Slo.Model == result.ModelName && s.Slo.Sli == SliKind.Quality))
        {
            slo.Upsert(result.WindowStartMs, result.ModelVersion, new GoodTotal(result.Correct, result.Labeled), result.Revision);
        }

        return _quality.IsPast(result.WindowEndMs()) ? InputOutcome.Late : InputOutcome.Applied;
    }

    /// <summary>Stores a drift window result (k-of-n per feature).</summary>
    public string Apply(DriftWindowResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (!OnGrid(_driftTicks, result.WindowStartMs, result.WindowSizeMs))
        {
            return InputOutcome.OtherWindowSize;
        }

        foreach (var feature in result.Features)
        {
            var key = (result.ModelName, feature.Feature);
            if (!_drift.TryGetValue(key, out var rule))
            {
                rule = new DriftRule(result.ModelName, feature.Feature, _options);
                _drift[key] = rule;
            }

            rule.Upsert(result.WindowStartMs, result.ModelVersion, result.Count, feature);
        }

        return _driftTicks.IsPast(result.WindowEndMs()) ? InputOutcome.Late : InputOutcome.Applied;
    }

    /// <summary>
    /// Evaluates every tick not yet evaluated that lies at or before the watermark minus its group's allowed lateness,
    /// with one watermark for every group (a single input, tests, the benchmark). See <see cref="AdvanceTo(GroupWatermarks)"/>.
    /// </summary>
    public EvaluationOutput AdvanceTo(long watermarkMs) => Advance(_ => watermarkMs);

    /// <summary>
    /// Evaluates every tick not yet evaluated that lies at or before its group's watermark minus the group's allowed
    /// lateness, each group in tick order; a group's decisions depend only on its own input and watermark. Among the
    /// groups, ticks are released in order of tick + lateness (ties: latency, drift, quality). A watermark that goes
    /// back is ignored (ticks are evaluated once).
    /// </summary>
    public EvaluationOutput AdvanceTo(GroupWatermarks watermarks)
    {
        ArgumentNullException.ThrowIfNull(watermarks);
        return Advance(watermarks.Current);
    }

    private EvaluationOutput Advance(Func<TickGroup, long?> watermarkOf)
    {
        var output = new EvaluationOutput();
        while (true)
        {
            // With one watermark for all groups the output sequence does not depend on how the watermark stepped: a step
            // releases exactly the ticks whose release time it passed, in release order.
            TickClock? next = null;
            long nextRelease = 0;
            foreach (var clock in (ReadOnlySpan<TickClock>)[_results, _driftTicks, _quality])
            {
                if ((clock.StartMs ?? _clockStartMs) is not { } origin || watermarkOf(clock.Group) is not { } watermark)
                {
                    continue;
                }

                var release = clock.NextTick(origin) + clock.LatenessMs;
                if (release <= watermark && (next is null || release < nextRelease))
                {
                    next = clock;
                    nextRelease = release;
                }
            }

            if (next is null)
            {
                return output;
            }

            // A group with no result of its own yet starts its grid at the first window end of any input (so missing
            // data is still decided); the origin is fixed from its first tick on.
            next.StartMs ??= _clockStartMs;
            var at = next.NextTick(next.StartMs!.Value);
            next.LastTickMs = at;
            output.Ticks++;
            if (next == _results)
            {
                TickSlos(next, at, quality: false, output);
                foreach (var rule in _regressions.Values)
                {
                    rule.EvaluateAt(at, _results.GridMs, output.Alerts);
                }
            }
            else if (next == _driftTicks)
            {
                foreach (var rule in _drift.Values)
                {
                    rule.EvaluateAt(at, _driftTicks.GridMs, output.Alerts);
                }
            }
            else
            {
                TickSlos(next, at, quality: true, output);
            }
        }
    }

    /// <summary>
    /// The first window end of a group's results before its first tick starts its tick grid (and the missing-data clock
    /// of its SLOs that never had data), so a group's grid depends on its own input only; the first window end of any
    /// input is the origin of a group that has none of its own.
    /// </summary>
    /// <summary>
    /// Notes the end of a result's window on its tick clock (the earliest ends start the clocks) and tells whether the
    /// window lies on the clock's grid: other sizes, and hopping windows of the same size (overlapping), would count
    /// events twice.
    /// </summary>
    private bool OnGrid(TickClock clock, long windowStartMs, long windowSizeMs)
    {
        var windowEndMs = WindowTime.End(windowStartMs, windowSizeMs);
        if (clock.LastTickMs is null && (clock.StartMs is not { } start || windowEndMs < start))
        {
            clock.StartMs = windowEndMs;
        }

        if (_clockStartMs is not { } first || windowEndMs < first)
        {
            _clockStartMs = windowEndMs;
        }

        return windowSizeMs == clock.GridMs && windowStartMs % windowSizeMs == 0;
    }

    /// <summary>One tick of the SLOs of a group: burn rates where the tick's window has data, missing data where it has not.</summary>
    private void TickSlos(TickClock clock, long tickMs, bool quality, EvaluationOutput output)
    {
        foreach (var slo in _slos)
        {
            if ((slo.Slo.Sli == SliKind.Quality) != quality)
            {
                continue;
            }

            if (slo.EvaluateAt(tickMs, output.Alerts, output.Statuses))
            {
                if (slo.DataMissing is { } missing)
                {
                    output.Alerts.Add(MissingAlert(slo, AlertState.RESOLVED, missing.StartedAtMs, tickMs));
                    slo.DataMissing = null;
                }

                continue;
            }

            var span = Ms(slo.Slo.MissingDataAfter ?? _options.MissingDataAfter);
            var since = slo.LastDataMs ?? clock.StartMs!.Value;
            if (slo.DataMissing is null && tickMs - since > span)
            {
                slo.DataMissing = MissingAlert(slo, AlertState.FIRING, tickMs, tickMs);
                output.Alerts.Add(slo.DataMissing);
            }
        }
    }

    private static long Ms(TimeSpan span) => (long)span.TotalMilliseconds;

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
        ClockMs = _results.LastTickMs,
        DriftTickMs = _driftTicks.LastTickMs,
        QualityTickMs = _quality.LastTickMs,
        ClockStartMs = _clockStartMs,
        GroupStartsMs = new Dictionary<TickGroup, long?>
        {
            [TickGroup.Latency] = _results.StartMs,
            [TickGroup.Drift] = _driftTicks.StartMs,
            [TickGroup.Quality] = _quality.StartMs,
        },
        Slos = [.. _slos.Select(s => s.Capture())],
        Drift = [.. _drift.Values.Select(d => d.Capture())],
        Regressions = [.. _regressions.Values.Select(r => r.Capture())],
    };

    /// <summary>Restores a checkpoint into this fresh evaluator; SLOs no longer configured are dropped.</summary>
    public void Restore(EvaluatorState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        _results.LastTickMs = state.ClockMs;
        _driftTicks.LastTickMs = state.DriftTickMs;
        _quality.LastTickMs = state.QualityTickMs;
        _clockStartMs = state.ClockStartMs;

        foreach (var clock in (ReadOnlySpan<TickClock>)[_results, _driftTicks, _quality])
        {
            // A checkpoint from before per-group origins had one origin for every group: its grids continue from it.
            clock.StartMs = state.GroupStartsMs is { } starts ? starts.GetValueOrDefault(clock.Group) : state.ClockStartMs;
        }
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

    /// <summary>Tick grid of one group: ticks are multiples of the grid, evaluated once the watermark passes tick + lateness.</summary>
    private sealed class TickClock(TickGroup group, long gridMs, long latenessMs)
    {
        public TickGroup Group { get; } = group;

        public long GridMs { get; } = gridMs;

        public long LatenessMs { get; } = latenessMs;

        public long? LastTickMs { get; set; }

        /// <summary>Origin of the grid: the first window end of the group's results before its first tick.</summary>
        public long? StartMs { get; set; }

        /// <summary>The next tick: after the last one, or the first grid point at or after the first window end.</summary>
        public long NextTick(long firstEndMs) => LastTickMs is { } last ? last + GridMs : CeilTo(firstEndMs, GridMs);

        /// <summary>True when the tick of a window ending at <paramref name="windowEndMs"/> was already evaluated.</summary>
        public bool IsPast(long windowEndMs) => LastTickMs is { } last && windowEndMs <= last;

        private static long CeilTo(long value, long grid) => -(long)Math.Floor((decimal)-value / grid) * grid;
    }
}
