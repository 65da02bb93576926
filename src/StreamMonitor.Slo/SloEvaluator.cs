using System.Globalization;
using StreamMonitor.Contracts;

namespace StreamMonitor.Slo;

/// <summary>
/// Evaluates one SLO in event time, at ticks: the window ends of its grid that the caller's watermark has passed.
/// A tick whose window holds data for the SLO evaluates it; windows after the tick are stored but not yet counted.
/// Burn rate of a window = (sum bad / sum total) / (1 - target), from exact counts; null when the window holds no
/// events (zero traffic never fires). A tier holds when both its windows exceed its burn rate and its long window
/// has at least the low-traffic minimum of events. One alert per severity: it fires with the fastest tier that
/// holds (shortest long window) and folds the others into its labels; it resolves once no tier of that
/// severity has held at any evaluation during <see cref="EvaluatorOptions.ResolveHold"/> of event time.
/// </summary>
public sealed class SloEvaluator
{
    private readonly EvaluatorOptions _options;
    private readonly WindowedCounts _counts;
    private readonly int _periodSpan;
    private readonly (int Long, int Short)[] _tierSpans;
    private readonly Dictionary<string, SeverityState> _severities = new(StringComparer.Ordinal);

    /// <summary>Creates an evaluator for one SLO.</summary>
    public SloEvaluator(SloDefinition slo, EvaluatorOptions options)
    {
        ArgumentNullException.ThrowIfNull(slo);
        ArgumentNullException.ThrowIfNull(options);
        Slo = slo;
        _options = options;
        WindowMs = (long)(slo.Sli == SliKind.Quality ? options.QualityWindow : options.ResultWindow).TotalMilliseconds;
        var longestTier = slo.Tiers.Count == 0 ? 0 : slo.Tiers.Max(t => (long)t.LongWindow.TotalMilliseconds);
        _counts = new WindowedCounts(WindowMs, t => Math.Min(slo.Period.StartMs(t), t - longestTier));
        _periodSpan = _counts.AddSpan(slo.Period.StartMs);
        _tierSpans = [.. slo.Tiers.Select(t => (
            _counts.AddSpan(e => e - (long)t.LongWindow.TotalMilliseconds),
            _counts.AddSpan(e => e - (long)t.ShortWindow.TotalMilliseconds)))];
        foreach (var severity in slo.Tiers.Select(t => t.Severity).Distinct())
        {
            _severities[severity] = new SeverityState();
        }
    }

    /// <summary>The SLO evaluated.</summary>
    public SloDefinition Slo { get; }

    /// <summary>Size in ms of the result windows this SLO consumes.</summary>
    public long WindowMs { get; }

    /// <summary>Event time of the last evaluation (end of the newest window), null before any data.</summary>
    public long? EvaluationMs => _counts.EvaluationMs;

    /// <summary>End of the newest window with data at or before the last tick (for missing-data detection).</summary>
    public long? LastDataMs { get; internal set; }

    /// <summary>The firing DATA_MISSING alert, if any.</summary>
    public Alert? DataMissing { get; internal set; }

    /// <summary>Currently firing burn-rate alerts, by severity.</summary>
    public IEnumerable<Alert> FiringAlerts => _severities.Values.Where(s => s.Firing is not null).Select(s => s.Firing!);

    /// <summary>Last status computed.</summary>
    public SloStatus? LastStatus { get; private set; }

    /// <summary>Alert id of the burn-rate alert of a severity.</summary>
    public string AlertId(string severity) => $"slo/{Slo.Name}/{severity}";

    /// <summary>
    /// Stores one window's counts from one source (model version); a later contribution of the same window and
    /// source replaces it when its revision is at least the stored one. Nothing is evaluated here: the counts take
    /// part from the first tick at or after the window's end. Returns false when it changed nothing.
    /// </summary>
    public bool Upsert(long windowStartMs, string source, GoodTotal counts, long revision) => _counts.Upsert(windowStartMs, source, counts, revision);

    /// <summary>
    /// The tick at <paramref name="tickMs"/> (a window end on this SLO's grid): moves the evaluation time there and,
    /// when the window ending at the tick holds data, records it as the newest data and evaluates the burn rates,
    /// emitting the status and any alert transition at event time <paramref name="tickMs"/>. Returns whether the
    /// window held data.
    /// </summary>
    public bool EvaluateAt(long tickMs, List<Alert> alerts, List<SloStatus> statuses)
    {
        ArgumentNullException.ThrowIfNull(alerts);
        ArgumentNullException.ThrowIfNull(statuses);
        _counts.AdvanceTo(tickMs);
        if (!_counts.Contains(tickMs - WindowMs))
        {
            return false;
        }

        LastDataMs = tickMs;
        Evaluate(alerts, statuses);
        return true;
    }

    private void Evaluate(List<Alert> alerts, List<SloStatus> statuses)
    {
        var now = _counts.EvaluationMs!.Value;
        var period = _counts.Sum(_periodSpan);
        var budgetRemaining = BudgetRemaining(period);
        var status = new SloStatus
        {
            Slo = Slo.Name,
            Sli = Slo.SliName,
            ModelName = Slo.Model,
            Target = Slo.Target,
            Period = Slo.Period.ToString(),
            EvaluatedAtMs = now,
            PeriodTotal = period.Total,
            PeriodBad = period.Bad,
            BudgetRemaining = budgetRemaining,
        };

        for (var i = 0; i < Slo.Tiers.Count; i++)
        {
            var tier = Slo.Tiers[i];
            var longSum = _counts.Sum(_tierSpans[i].Long);
            var shortSum = _counts.Sum(_tierSpans[i].Short);
            var longRate = BurnRate(longSum);
            var shortRate = BurnRate(shortSum);
            status.Tiers.Add(new BurnRateTier
            {
                Name = tier.Name,
                Severity = tier.Severity,
                LongWindowMs = (long)tier.LongWindow.TotalMilliseconds,
                ShortWindowMs = (long)tier.ShortWindow.TotalMilliseconds,
                BurnRateThreshold = tier.BurnRate,
                LongBurnRate = longRate,
                ShortBurnRate = shortRate,
                LongTotal = longSum.Total,
                ShortTotal = shortSum.Total,
                ConditionMet = longRate > tier.BurnRate && shortRate > tier.BurnRate && longSum.Total >= _options.MinEventsInLongWindow
                               && LowTrafficGuard.Improbable(longSum.Bad, longSum.Total, Slo.ErrorBudget, _options.LowTrafficConfidence),
            });
        }

        foreach (var (severity, state) in _severities)
        {
            var held = status.Tiers.Where(t => t.Severity == severity && t.ConditionMet).OrderBy(t => t.LongWindowMs).ToList();
            if (held.Count > 0)
            {
                state.ClearedSinceMs = null;
                if (state.Firing is null)
                {
                    state.Firing = BuildAlert(severity, held[0], held, now, now, budgetRemaining, AlertState.FIRING);
                    alerts.Add(state.Firing);
                }
            }
            else if (state.Firing is { } firing && now - (state.ClearedSinceMs ??= now) >= (long)_options.ResolveHold.TotalMilliseconds)
            {
                var tier = status.Tiers.First(t => t.Name == firing.Tier);
                alerts.Add(BuildAlert(severity, tier, [], firing.StartedAtMs, now, budgetRemaining, AlertState.RESOLVED));
                state.Firing = null;
                state.ClearedSinceMs = null;
            }
        }

        LastStatus = status;
        statuses.Add(status);
    }

    private Alert BuildAlert(string severity, BurnRateTier tier, List<BurnRateTier> held, long startedAt, long now, double budgetRemaining, AlertState state)
    {
        var labels = new Dictionary<string, string>(Slo.Labels, StringComparer.Ordinal)
        {
            ["alertname"] = "SloBurnRate",
            ["slo"] = Slo.Name,
            ["sli"] = Slo.SliName,
            ["model"] = Slo.Model,
            ["service"] = Slo.Service,
            ["severity"] = severity,
            ["tier"] = tier.Name,
        };
        if (held.Count > 1)
        {
            labels["folded_tiers"] = string.Join(',', held.Skip(1).Select(t => t.Name));
        }

        var ci = CultureInfo.InvariantCulture;
        var summary = state == AlertState.FIRING
            ? string.Create(ci, $"SLO {Slo.Name} ({Slo.SliName} {Slo.Target:P2}, {Slo.Period}) is burning its error budget: tier {tier.Name} burn rate {tier.LongBurnRate:0.##}x over {Durations.Format(TimeSpan.FromMilliseconds(tier.LongWindowMs))} and {tier.ShortBurnRate:0.##}x over {Durations.Format(TimeSpan.FromMilliseconds(tier.ShortWindowMs))} (threshold {tier.BurnRateThreshold:0.##}x); budget remaining {budgetRemaining:P1}")
            : string.Create(ci, $"SLO {Slo.Name}: no {severity} tier has held for {Durations.Format(_options.ResolveHold)}; budget remaining {budgetRemaining:P1}");
        return new Alert
        {
            AlertId = AlertId(severity),
            Kind = AlertKind.SLO_BURN_RATE,
            State = state,
            Severity = severity,
            Name = Slo.Name,
            ModelName = Slo.Model,
            Tier = tier.Name,
            LongBurnRate = tier.LongBurnRate,
            ShortBurnRate = tier.ShortBurnRate,
            BudgetRemaining = budgetRemaining,
            TimeToExhaustionMs = TimeToExhaustion(budgetRemaining, tier.LongBurnRate, now),
            Threshold = tier.BurnRateThreshold,
            StartedAtMs = startedAt,
            EventTimeMs = now,
            Summary = summary,
            Labels = labels,
        };
    }

    /// <summary>Burn rate of a window's counts, or null when it holds no events.</summary>
    public double? BurnRate(GoodTotal sum) => sum.Total > 0 ? (double)sum.Bad / sum.Total / Slo.ErrorBudget : null;

    /// <summary>1 - bad / (total x error budget); 1 when the period holds no events; negative when overspent.</summary>
    public double BudgetRemaining(GoodTotal period) => period.Total > 0 ? 1 - (period.Bad / (period.Total * Slo.ErrorBudget)) : 1;

    /// <summary>Event time left until the budget is spent at a burn rate (the period's budget is spent in period / burn rate); null when not burning.</summary>
    public long? TimeToExhaustion(double budgetRemaining, double? burnRate, long now) =>
        burnRate is > 0 ? (long)(Math.Max(0, budgetRemaining) * Slo.Period.LengthMs(now) / burnRate.Value) : null;

    /// <summary>State for a checkpoint.</summary>
    public SloEvaluatorState Capture() => new()
    {
        Name = Slo.Name,
        Contributions = ContributionColumns.From(_counts.Contributions()),
        EvaluatedToMs = _counts.EvaluationMs,
        LastDataMs = LastDataMs,
        DataMissing = DataMissing,
        Severities = [.. _severities.Select(s => new SeverityStateDto(s.Key, s.Value.Firing, s.Value.ClearedSinceMs))],
    };

    /// <summary>Restores checkpointed state into a fresh evaluator (sums are rebuilt from the contributions).</summary>
    public void Restore(SloEvaluatorState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.EvaluatedToMs is { } evaluatedTo)
        {
            _counts.AdvanceTo(evaluatedTo);
        }

        foreach (var (start, source, counts, revision) in state.Contributions.Entries())
        {
            _counts.Upsert(start, source, counts, revision);
        }

        LastDataMs = state.LastDataMs;
        DataMissing = state.DataMissing;
        foreach (var s in state.Severities)
        {
            if (_severities.TryGetValue(s.Severity, out var target))
            {
                target.Firing = s.Firing;
                target.ClearedSinceMs = s.ClearedSinceMs;
            }
        }
    }

    private sealed class SeverityState
    {
        public Alert? Firing { get; set; }

        /// <summary>First evaluation at which no tier of the severity held while the alert fired (hysteresis start).</summary>
        public long? ClearedSinceMs { get; set; }
    }
}
