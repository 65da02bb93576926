namespace StreamMonitor.Slo;

/// <summary>Settings of the event-time evaluator (the alerter binds them from its "Alerter" section).</summary>
public sealed record EvaluatorOptions
{
    /// <summary>Size of the latency results consumed for latency/availability SLIs and latency regression; other sizes are ignored, so nothing is counted twice.</summary>
    public TimeSpan ResultWindow { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Size of the quality results consumed for quality SLIs.</summary>
    public TimeSpan QualityWindow { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Size of the drift results consumed for drift alerts.</summary>
    public TimeSpan DriftWindow { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Event time the watermark must pass a tick by before the tick (latency results, drift) is evaluated: results
    /// for a window that arrive within it count at its tick whatever their arrival order.
    /// </summary>
    public TimeSpan AllowedLateness { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Allowed lateness of quality SLO ticks: quality results are upserted as labels arrive, so their ticks wait longer.</summary>
    public TimeSpan QualityAllowedLateness { get; init; } = TimeSpan.FromHours(1);

    /// <summary>
    /// Low-traffic guard: a tier holds only when its long window's bad events are improbable if the true bad rate were
    /// the SLO's allowed rate (1 - target): a one-sided binomial test, P(X &gt;= bad | total, 1 - target) &lt;= 1 - this
    /// confidence. So each tier's alarms from traffic that is merely within budget are at most 1 - confidence per
    /// evaluation, however little traffic there is, and a burst of a few slow requests at start-up does not page.
    /// 0 disables the test.
    /// </summary>
    public double LowTrafficConfidence { get; init; } = 0.999;

    /// <summary>An optional floor on top of <see cref="LowTrafficConfidence"/>: a tier holds only when its long window has at least this many events (0: none).</summary>
    public long MinEventsInLongWindow { get; init; }

    /// <summary>An SLO whose results stopped for longer than this (against the stream's max event time) raises DATA_MISSING.</summary>
    public TimeSpan MissingDataAfter { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>Severity of DATA_MISSING alerts.</summary>
    public string MissingDataSeverity { get; init; } = Severities.Ticket;

    /// <summary>Hysteresis: a burn-rate alert resolves only after no tier of its severity has held for this much event time.</summary>
    public TimeSpan ResolveHold { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Drift alert fires when a feature drifted in at least K of its last N windows.</summary>
    public int DriftK { get; init; } = 3;

    /// <summary>See <see cref="DriftK"/>.</summary>
    public int DriftN { get; init; } = 5;

    /// <summary>Severity of drift alerts.</summary>
    public string DriftSeverity { get; init; } = Severities.Ticket;

    /// <summary>A window regresses when its e2e p95 exceeds the baseline by more than this share (0.2 = 20%).</summary>
    public double LatencyRegressionShare { get; init; } = 0.2;

    /// <summary>Baseline = median of the window p95s over this trailing span (before the window judged).</summary>
    public TimeSpan LatencyBaselineSpan { get; init; } = TimeSpan.FromHours(24);

    /// <summary>Windows the trailing baseline needs before it is trusted.</summary>
    public int LatencyBaselineMinWindows { get; init; } = 30;

    /// <summary>A fixed baseline p95 in microseconds instead of the trailing median; null for the trailing median.</summary>
    public long? LatencyBaselineP95Us { get; init; }

    /// <summary>The regression must hold over consecutive windows covering at least this span of event time.</summary>
    public TimeSpan LatencyRegressionSustain { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Severity of latency-regression alerts.</summary>
    public string LatencyRegressionSeverity { get; init; } = Severities.Ticket;
}
