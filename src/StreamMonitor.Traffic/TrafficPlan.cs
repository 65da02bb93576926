using StreamMonitor.Contracts;
using StreamMonitor.Models.Training;

namespace StreamMonitor.Traffic;

/// <summary>A phase laid out on both clocks: event indices, event time and wall-clock offset from the start.</summary>
public sealed record TrafficPhase(
    int Index,
    string Name,
    PhaseKind Kind,
    long FirstEvent,
    long EndEvent,
    long StartEventTimeMs,
    long EndEventTimeMs,
    double StartWallSeconds,
    double EndWallSeconds)
{
    /// <summary>Whether an event time falls in this phase ([start, end)).</summary>
    public bool ContainsEventTime(long eventTimeMs) => eventTimeMs >= StartEventTimeMs && eventTimeMs < EndEventTimeMs;
}

/// <summary>One record to produce: a feature event or a label, with when (wall-clock offset) to produce it.</summary>
public sealed record TrafficRecord(double WallOffsetMs, int PhaseIndex, FeatureEvent? Feature, Label? Label)
{
    /// <summary>Kafka key: the event id (features and labels are co-partitioned by it).</summary>
    public string Key => Feature?.EventId ?? Label!.EventId;

    /// <summary>The record's own time: the event time of a feature, the label time of a label.</summary>
    public long TimeMs => Feature?.EventTimeMs ?? Label!.LabelTimeMs;
}

/// <summary>
/// The deterministic schedule of a run: which rows become which events at which event times, how drift shifts them,
/// and when each label arrives. A pure function of <see cref="TrafficOptions"/> and the held-out rows, so two runs with
/// the same settings produce byte-identical events (what replay and the tests rely on).
/// </summary>
public sealed class TrafficPlan
{
    private readonly TrafficOptions _options;
    private readonly Dataset _rows;
    private readonly int[] _driftFeatureIndexes;

    /// <summary>Lays out a run; the start time must be set (non-zero).</summary>
    public TrafficPlan(TrafficOptions options, Dataset rows)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(rows);
        options.Validate();
        if (options.StartTimeMs <= 0)
        {
            throw new ArgumentException($"{TrafficOptions.SectionName}:{nameof(TrafficOptions.StartTimeMs)} must be set.", nameof(options));
        }

        if (rows.Count == 0)
        {
            throw new ArgumentException("The data set has no rows.", nameof(rows));
        }

        _options = options;
        _rows = rows;
        _driftFeatureIndexes = options.Drift.Features.Select(name =>
        {
            var index = rows.FeatureNames.ToList().IndexOf(name);
            return index >= 0 ? index : throw new ArgumentException($"{TrafficOptions.SectionName}:Drift:Features names '{name}', which is not a column of the data set.", nameof(options));
        }).ToArray();

        TotalEvents = Math.Max(1, (long)Math.Round(options.Duration.TotalSeconds * options.RatePerSecond));
        EventSpacingMs = 1000.0 / options.RatePerSecond * options.TimeCompression;
        Phases = LayOutPhases();
    }

    /// <summary>Number of feature events in the run.</summary>
    public long TotalEvents { get; }

    /// <summary>Event-time distance between consecutive events before arrival jitter.</summary>
    public double EventSpacingMs { get; }

    /// <summary>Event time of the first event (before jitter).</summary>
    public long StartEventTimeMs => _options.StartTimeMs;

    /// <summary>Event time the run ends at (exclusive).</summary>
    public long EndEventTimeMs => Phases[^1].EndEventTimeMs;

    /// <summary>The phases, in order.</summary>
    public IReadOnlyList<TrafficPhase> Phases { get; }

    /// <summary>Settings the plan was made from.</summary>
    public TrafficOptions Options => _options;

    /// <summary>The phase an event time falls in, or null outside the run.</summary>
    public TrafficPhase? PhaseAt(long eventTimeMs) => Phases.FirstOrDefault(p => p.ContainsEventTime(eventTimeMs));

    /// <summary>
    /// Every record in production order: features in index order, each label just before the first feature whose
    /// (unjittered) event time reaches the label time, so labels interleave with features in label-time order and the
    /// aggregator sees them later in event time than their predictions. Labels due after the run's end are not
    /// produced (they have not arrived yet); <see cref="TrafficTotals.LabelsPendingAtEnd"/> counts them.
    /// </summary>
    public IEnumerable<TrafficRecord> Records(TrafficTotals? totals = null)
    {
        var rng = new Random(_options.Seed);
        var pending = new PriorityQueue<Label, (long LabelTimeMs, long Sequence)>();
        var phaseIndex = 0;
        for (long i = 0; i < TotalEvents; i++)
        {
            while (Phases[phaseIndex].EndEvent <= i)
            {
                phaseIndex++;
            }

            var phase = Phases[phaseIndex];
            var wallMs = i * 1000.0 / _options.RatePerSecond;
            var baseTime = BaseTime(i);
            while (pending.TryPeek(out var due, out var priority) && priority.LabelTimeMs <= baseTime)
            {
                pending.Dequeue();
                if (totals is not null)
                {
                    totals.Labels++;
                }

                yield return new TrafficRecord(wallMs, phaseIndex, null, due);
            }

            var rowIndex = rng.Next(_rows.Count);
            var row = _rows.Rows[rowIndex];
            var arrivalDelay = _options.ArrivalJitter <= TimeSpan.Zero ? 0 : -_options.ArrivalJitter.TotalMilliseconds * Math.Log(1 - rng.NextDouble());
            var eventTime = baseTime - (long)Math.Round(arrivalDelay);
            var features = new Dictionary<string, double?>(_rows.FeatureNames.Count, StringComparer.Ordinal);
            for (var f = 0; f < _rows.FeatureNames.Count; f++)
            {
                features[_rows.FeatureNames[f]] = row[f];
            }

            var strength = DriftStrength(phase, i);
            foreach (var f in _driftFeatureIndexes)
            {
                var noise = Gaussian(rng);
                var value = row[f];
                if (strength > 0)
                {
                    var shifted = value * (1 + ((_options.Drift.Factor - 1) * strength));
                    features[_rows.FeatureNames[f]] = shifted * (1 + (_options.Drift.RelativeNoise * strength * noise));
                }
            }

            var eventId = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"ev-{_options.StartTimeMs:x}-{_options.Seed}-{i:D8}");
            var labeled = rng.NextDouble() >= _options.UnlabeledShare;
            var delayMs = _options.LabelDelayMedian.TotalMilliseconds * Math.Exp(_options.LabelDelaySigma * Gaussian(rng));
            if (labeled)
            {
                var labelTime = eventTime + Math.Max(1, (long)Math.Round(delayMs));
                pending.Enqueue(new Label { EventId = eventId, ModelName = _options.ModelName, Value = _rows.Labels[rowIndex], LabelTimeMs = labelTime }, (labelTime, i));
            }
            else if (totals is not null)
            {
                totals.NeverLabeled++;
            }

            if (totals is not null)
            {
                totals.Features++;
            }

            yield return new TrafficRecord(
                wallMs,
                phaseIndex,
                new FeatureEvent
                {
                    EventId = eventId,
                    ModelName = _options.ModelName,
                    EntityId = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"patient-{rowIndex}"),
                    EventTimeMs = eventTime,
                    Features = features,
                },
                null);
        }

        if (totals is not null)
        {
            totals.LabelsPendingAtEnd = pending.Count;
        }
    }

    private long BaseTime(long index) => _options.StartTimeMs + (long)Math.Floor(index * EventSpacingMs);

    private double DriftStrength(TrafficPhase phase, long index)
    {
        if (phase.Kind != PhaseKind.FeatureDrift)
        {
            return 0;
        }

        var ramp = _options.Drift.RampShare * (phase.EndEvent - phase.FirstEvent);
        return ramp < 1 ? 1 : Math.Min(1, (index - phase.FirstEvent + 1) / ramp);
    }

    private List<TrafficPhase> LayOutPhases()
    {
        var totalShare = _options.Phases.Sum(p => p.Share);
        var phases = new List<TrafficPhase>(_options.Phases.Count);
        double cumulative = 0;
        long first = 0;
        for (var p = 0; p < _options.Phases.Count; p++)
        {
            cumulative += _options.Phases[p].Share;
            var end = p == _options.Phases.Count - 1 ? TotalEvents : (long)Math.Round(TotalEvents * cumulative / totalShare);
            phases.Add(new TrafficPhase(
                p,
                _options.Phases[p].Name,
                _options.Phases[p].Kind,
                first,
                end,
                BaseTime(first),
                BaseTime(end),
                first / _options.RatePerSecond,
                end / _options.RatePerSecond));
            first = end;
        }

        return phases;
    }

    private static double Gaussian(Random rng)
    {
        // Box-Muller; 1 - U keeps the logarithm finite.
        var u1 = 1 - rng.NextDouble();
        var u2 = rng.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}

/// <summary>Counts of what a plan enumeration produced; filled while <see cref="TrafficPlan.Records"/> is enumerated.</summary>
public sealed class TrafficTotals
{
    /// <summary>Feature events.</summary>
    public long Features { get; set; }

    /// <summary>Labels produced during the run.</summary>
    public long Labels { get; set; }

    /// <summary>Events drawn to never be labeled.</summary>
    public long NeverLabeled { get; set; }

    /// <summary>Labels due after the run ended (not produced).</summary>
    public long LabelsPendingAtEnd { get; set; }
}
