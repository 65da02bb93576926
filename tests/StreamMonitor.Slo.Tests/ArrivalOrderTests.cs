using System.Text.Json;
using StreamMonitor.Contracts;
using StreamMonitor.Slo;
using static StreamMonitor.Slo.Tests.Generated;

namespace StreamMonitor.Slo.Tests;

/// <summary>
/// The evaluator's decisions are a function of the results, not of their arrival order: one multiset of results
/// (latency, drift and quality; two model versions; early emissions followed by the full value; duplicates; quality
/// revisions) is delivered through 12 partitions (3 topics x 4, keyed by window like the aggregator's) in many
/// interleavings, and every run must give exactly the same alert transitions and SLO statuses at the same event times.
/// Each interleaving follows the delivery model under which live equals replay (docs/alerter.md): a record reaches the
/// alerter less than AllowedLateness of event time after its window end (quality revisions: QualityAllowedLateness),
/// in any order within and across partitions, and a key's emissions keep their order.
/// </summary>
public sealed class ArrivalOrderTests
{
    private const long Second = 1000;
    private const long Start = T0 + Day;
    private const long End = Start + (3 * Hour);

    private static readonly EvaluatorOptions Evaluation = new()
    {
        ResultWindow = TimeSpan.FromSeconds(10),
        DriftWindow = TimeSpan.FromMinutes(1),
        QualityWindow = TimeSpan.FromMinutes(1),
        AllowedLateness = TimeSpan.FromMinutes(1),
        QualityAllowedLateness = TimeSpan.FromHours(1),
        MissingDataAfter = TimeSpan.FromMinutes(15),
        LatencyBaselineP95Us = 20_000,
        LatencyRegressionSustain = TimeSpan.FromMinutes(5),
    };

    private static readonly TimeSpan IdleSpan = TimeSpan.FromMinutes(15);

    private static IReadOnlyList<SloDefinition> Slos() =>
    [
        Availability(),
        Availability(target: 0.99) with { Name = "cancer-latency", Sli = SliKind.Latency, LatencyThresholdUs = 50_000 },
        Accuracy(),
    ];

    [Fact]
    public void Many_interleavings_of_the_same_results_give_identical_alerts_and_statuses()
    {
        var records = Scenario();
        var reference = Run(InOrder(records));
        Assert.Contains(reference.Alerts, a => a.Kind == AlertKind.SLO_BURN_RATE && a.State == AlertState.FIRING && a.Name == "cancer-availability");
        Assert.Contains(reference.Alerts, a => a.Kind == AlertKind.SLO_BURN_RATE && a.State == AlertState.RESOLVED && a.Name == "cancer-availability");
        Assert.Contains(reference.Alerts, a => a.Kind == AlertKind.SLO_BURN_RATE && a.Name == "cancer-accuracy");
        Assert.Contains(reference.Alerts, a => a.Kind == AlertKind.FEATURE_DRIFT && a.State == AlertState.RESOLVED);
        Assert.Contains(reference.Alerts, a => a.Kind == AlertKind.LATENCY_REGRESSION && a.State == AlertState.RESOLVED);
        Assert.Equal(0, reference.Late);

        for (var seed = 1; seed <= 40; seed++)
        {
            var shuffled = Run(Deliver(records, new Random(seed)));
            Assert.Equal(0, shuffled.Late);
            Assert.Equal(reference.AlertsJson, shuffled.AlertsJson);
            Assert.Equal(reference.StatusesJson, shuffled.StatusesJson);
        }
    }

    [Fact]
    public void A_restart_from_a_checkpoint_at_any_point_of_an_interleaving_gives_the_same_outputs()
    {
        var records = Scenario();
        var reference = Run(InOrder(records));
        var random = new Random(7);
        for (var i = 0; i < 8; i++)
        {
            var delivery = Deliver(records, random);
            var restarted = Run(delivery, restartAt: random.Next(delivery.Count));
            Assert.Equal(reference.AlertsJson, restarted.AlertsJson);
            Assert.Equal(reference.StatusesJson, restarted.StatusesJson);
        }
    }

    [Fact]
    public void A_result_arriving_after_its_tick_is_late_and_counts_only_from_the_next_tick()
    {
        var evaluator = new AlertEvaluator([Availability()], Options(TimeSpan.FromMinutes(1), lowTrafficConfidence: 0));
        evaluator.Apply(Latency(T0, Minute, 100, 0));
        evaluator.Apply(Latency(T0 + Minute, Minute, 100, 0));
        Assert.Equal(100, evaluator.AdvanceTo(T0 + (2 * Minute)).Statuses.Single().PeriodTotal);

        // Version 2 of the first window after its tick: late; the tick already evaluated stays as it was.
        Assert.Equal(InputOutcome.Late, evaluator.Apply(Latency(T0, Minute, 50, 50, version: "2")));
        var next = evaluator.AdvanceTo(T0 + (3 * Minute)).Statuses.Single();
        Assert.Equal(T0 + (2 * Minute), next.EvaluatedAtMs);
        Assert.Equal(250, next.PeriodTotal);
        Assert.Equal(50, next.PeriodBad);
    }

    [Fact]
    public void Catching_up_partition_after_partition_gives_the_same_alerts_and_statuses()
    {
        // A restart or a replay reads a backlog: the consumer fetches whole chunks of one partition before the next,
        // so partitions are hours of event time apart. Registered lanes hold the watermark until each was read to its end.
        var records = Scenario();
        var reference = Run(InOrder(records));
        var random = new Random(11);
        for (var i = 0; i < 10; i++)
        {
            // Inside each partition any order (a writer far ahead of the others, early emissions long before their
            // full value), emissions of one key in order.
            var backlog = Chunked(Scrambled(records, random), random);
            var caughtUp = Run(backlog, catchUp: true, restartAt: i % 2 == 0 ? -1 : random.Next(backlog.Count));
            Assert.Equal(0, caughtUp.Late);
            Assert.Equal(reference.AlertsJson, caughtUp.AlertsJson);
            Assert.Equal(reference.StatusesJson, caughtUp.StatusesJson);
        }

        // Without registering the lanes, the first partitions read run ahead and the others' results arrive late.
        var unregistered = Run(Chunked(Deliver(records, random), random));
        Assert.True(unregistered.Late > 0);
        Assert.NotEqual(reference.StatusesJson, unregistered.StatusesJson);
    }

    [Fact]
    public void The_watermark_is_the_slowest_counting_partition()
    {
        var watermark = new LaneWatermark(TimeSpan.FromMinutes(15));
        watermark.Expect("a[0]");
        watermark.Expect("a[1]");
        watermark.Expect("b[0]");
        Assert.Null(watermark.Observe("a[0]", T0 + Minute)); // start-up backlogs: nothing is decided until each was read
        Assert.Null(watermark.MarkCaughtUp("b[0]")); // b[0] is empty: it does not count
        Assert.Null(watermark.Observe("a[1]", T0 + (5 * Minute)));
        Assert.Null(watermark.MarkCaughtUp("a[1]"));
        Assert.Equal(T0 + Minute, watermark.MarkCaughtUp("a[0]"));
        Assert.Equal(T0 + Minute, watermark.Observe("a[1]", T0 + (6 * Minute)));
        Assert.Equal(T0 + Minute, watermark.Observe("a[0]", T0)); // order inside a partition does not matter
        Assert.Equal(T0 + (3 * Minute), watermark.Observe("a[0]", T0 + (3 * Minute)));

        // a[0] is caught up at 3 min and a[1] runs ahead: a[0] holds the watermark at most 15 min behind a[1].
        watermark.MarkCaughtUp("a[0]");
        Assert.Equal(T0 + (5 * Minute), watermark.Observe("a[1]", T0 + (20 * Minute)));

        // A lane being read counts however far behind it is; the watermark never goes back.
        Assert.Equal(T0 + (5 * Minute), watermark.Observe("b[0]", T0 + (4 * Minute)));
        Assert.Equal(T0 + (5 * Minute), watermark.Observe("b[0]", T0 + (10 * Minute)));
        Assert.Equal(T0 + (10 * Minute), watermark.Observe("a[1]", T0 + (30 * Minute)));
        Assert.Equal(T0 + (15 * Minute), watermark.MarkCaughtUp("b[0]"));
        Assert.Equal(T0 + (15 * Minute), watermark.MarkCaughtUp("a[1]"));

        var restored = new LaneWatermark(TimeSpan.FromMinutes(15));
        restored.Restore(watermark.Capture(), watermark.Current);
        Assert.Equal(T0 + (15 * Minute), restored.Current);
        restored.Expect("a[1]");
        Assert.Equal(T0 + (15 * Minute), restored.Observe("a[1]", T0 + (50 * Minute))); // its backlog is still being read
        Assert.Equal(T0 + (35 * Minute), restored.MarkCaughtUp("a[1]"));
    }

    /// <summary>One emission of a result: when it leaves the aggregator (event time), and its topic partition.</summary>
    private sealed record Emission(object Result, string Key, long EmittedAtMs, int Sequence)
    {
        public TickGroup Group => Result switch
        {
            LatencyWindowResult => TickGroup.Latency,
            DriftWindowResult => TickGroup.Drift,
            _ => TickGroup.Quality,
        };

        public string Lane => Group + "[" + (int)((uint)StableHash(Key) % 4) + "]";

        public long WindowEndMs => ((IWindowResult)Result).WindowEndMs();
    }

    private static int StableHash(string key)
    {
        var h = 17;
        foreach (var c in key)
        {
            h = unchecked((h * 31) + c);
        }

        return h;
    }

    /// <summary>
    /// An hour of clean traffic, then three hours with an availability outage (fires and resolves), a slow stretch of version 2
    /// (latency regression), two drifted hours (drift fires and resolves), an accuracy drop (quality page), early
    /// emissions of version 1's latency windows before their full value, duplicates, quality revisions.
    /// </summary>
    private static List<Emission> Scenario()
    {
        var list = new List<Emission>();
        var sequence = 0;
        void Emit(object result, string key, long at) => list.Add(new Emission(result, key, at, sequence++));
        for (var s = Start - Hour; s < End; s += 10 * Second)
        {
            var end = s + (10 * Second);
            var outage = s >= Start + Hour && s < Start + Hour + (10 * Minute);
            var slow = s >= Start + (90 * Minute) && s < Start + (100 * Minute);
            foreach (var version in new[] { "1", "2" })
            {
                var count = version == "1" ? 100 : 40;
                var errors = outage ? count / 2 : 0;
                var key = $"latency|{version}|{s}";
                if (version == "1" && s % (30 * Second) == 0)
                {
                    // Emitted early without a lagging partition's partials, then again with the full value.
                    Emit(Latency(s, 10 * Second, count / 2, errors / 2, version: version), key, end + (5 * Second));
                }

                var full = Latency(s, 10 * Second, count, errors, version: version, p95Us: slow && version == "1" ? 40_000 : 20_000, fastCount: count - errors - (slow ? count / 10 : 0));
                Emit(full, key, end + (15 * Second));
                if (s % (70 * Second) == 0)
                {
                    Emit(full, key, end + (20 * Second)); // re-emitted unchanged (a restarted aggregator)
                }
            }
        }

        for (var s = Start - Hour; s < End; s += Minute)
        {
            var end = s + Minute;
            var drifted = s >= Start + (30 * Minute) && s < Start + (150 * Minute) && (s / Minute) % 4 != 0;
            foreach (var version in new[] { "1", "2" })
            {
                Emit(new DriftWindowResult
                {
                    ModelName = "cancer", ModelVersion = version, WindowStartMs = s, WindowSizeMs = Minute, Count = version == "1" ? 600 : 240, ReferenceId = "ref",
                    Features = [new FeatureDrift { Feature = "mean_radius", Kind = FeatureKind.NUMERIC, Count = 600, DriftMethod = "wasserstein", DriftScore = drifted && version == "1" ? 0.6 : 0.1, Threshold = 0.35, Drifted = drifted && version == "1" }],
                }, $"drift|{version}|{s}", end + (5 * Second));
            }
        }

        for (var s = Start; s < End; s += Minute)
        {
            var end = s + Minute;
            var bad = s >= Start + (40 * Minute) && s < Start + (130 * Minute);
            foreach (var version in new[] { "1", "2" })
            {
                // Labels trickle in: revisions 1..3 up to 40 minutes after the window (within QualityAllowedLateness).
                for (var revision = 1; revision <= 3; revision++)
                {
                    var labeled = 20 * revision;
                    Emit(new QualityWindowResult
                    {
                        ModelName = "cancer", ModelVersion = version, WindowStartMs = s, WindowSizeMs = Minute, Revision = revision, Predictions = 60,
                        Labeled = labeled, Correct = bad ? 0 : labeled - 1,
                    }, $"quality|{version}|{s}", end + (5 * Second) + ((revision - 1) * 20 * Minute));
                }
            }
        }

        return list;
    }

    /// <summary>Delivery in emission order, one partition after the other at equal times: the reference run.</summary>
    private static List<Emission> InOrder(List<Emission> records) => [.. records.OrderBy(r => r.EmittedAtMs).ThenBy(r => r.Sequence)];

    /// <summary>
    /// A random delivery: each emission is delayed by up to 30 s of event time (partitions drift against each other, and
    /// several writers share a partition, so records of one partition are reordered too), yet emissions of one key keep
    /// their order (one writer per key, one partition per key).
    /// </summary>
    private static List<Emission> Deliver(List<Emission> records, Random random)
    {
        var arrival = new Dictionary<Emission, long>();
        var lastOfKey = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var r in records.OrderBy(r => r.EmittedAtMs).ThenBy(r => r.Sequence))
        {
            var at = r.EmittedAtMs + random.NextInt64(30 * Second);
            at = Math.Max(at, lastOfKey.GetValueOrDefault(r.Key, long.MinValue) + 1);
            lastOfKey[r.Key] = at;
            arrival[r] = at;
        }

        return [.. records.OrderBy(r => arrival[r]).ThenBy(_ => random.Next())];
    }

    /// <summary>Any order, except that the emissions of one key keep theirs.</summary>
    private static List<Emission> Scrambled(List<Emission> records, Random random)
    {
        var slots = records.OrderBy(_ => random.Next()).ToList();
        var byKey = records.OrderBy(r => r.Sequence).GroupBy(r => r.Key).ToDictionary(g => g.Key, g => new Queue<Emission>(g), StringComparer.Ordinal);
        return [.. slots.Select(slot => byKey[slot.Key].Dequeue())];
    }

    /// <summary>The same per-partition order, read in chunks of up to 500 records of one partition at a time.</summary>
    private static List<Emission> Chunked(List<Emission> delivery, Random random)
    {
        var lanes = delivery.GroupBy(r => r.Lane).Select(g => new Queue<Emission>(g)).ToList();
        var chunked = new List<Emission>();
        while (lanes.Count > 0)
        {
            var lane = lanes[random.Next(lanes.Count)];
            for (var n = random.Next(1, 500); n > 0 && lane.Count > 0; n--)
            {
                chunked.Add(lane.Dequeue());
            }

            if (lane.Count == 0)
            {
                lanes.Remove(lane);
            }
        }

        return chunked;
    }

    private sealed record Outcome(List<Alert> Alerts, string AlertsJson, string StatusesJson, int Late);

    private static Outcome Run(List<Emission> delivery, int restartAt = -1, bool catchUp = false)
    {
        var evaluator = new AlertEvaluator(Slos(), Evaluation);
        var watermarks = new GroupWatermarks(IdleSpan);
        var remaining = delivery.GroupBy(r => r.Lane).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var groupOf = delivery.GroupBy(r => r.Lane).ToDictionary(g => g.Key, g => g.First().Group, StringComparer.Ordinal);
        if (catchUp)
        {
            foreach (var lane in remaining.Keys)
            {
                watermarks.Expect(groupOf[lane], lane);
            }
        }

        var alerts = new List<Alert>();
        var statuses = new List<SloStatus>();
        var late = 0;
        for (var i = 0; i < delivery.Count; i++)
        {
            if (i == restartAt)
            {
                // Restart: state and watermark through JSON, as the alerter's checkpoint carries them.
                var state = JsonSerializer.Deserialize<EvaluatorState>(JsonSerializer.Serialize(evaluator.Capture()))!;
                var lanes = watermarks.CaptureLanes();
                var current = watermarks.CaptureCurrent();
                evaluator = new AlertEvaluator(Slos(), Evaluation);
                evaluator.Restore(state);
                watermarks = new GroupWatermarks(IdleSpan);
                watermarks.Restore(lanes, lane => groupOf[lane], g => current.TryGetValue(g, out var ms) ? ms : null);

                // What is still to come was already in the topics: it is the restarted alerter's start-up backlog.
                catchUp = true;
                foreach (var lane in remaining.Where(l => l.Value > 0))
                {
                    watermarks.Expect(groupOf[lane.Key], lane.Key);
                }
            }

            var r = delivery[i];
            var outcome = r.Result switch
            {
                LatencyWindowResult l => evaluator.Apply(l),
                DriftWindowResult d => evaluator.Apply(d),
                QualityWindowResult q => evaluator.Apply(q),
                _ => throw new InvalidOperationException(),
            };
            late += outcome == InputOutcome.Late ? 1 : 0;
            watermarks.Observe(r.Group, r.Lane, r.WindowEndMs);
            if (--remaining[r.Lane] == 0 && catchUp)
            {
                watermarks.MarkCaughtUp(r.Group, r.Lane);
            }

            var output = evaluator.AdvanceTo(watermarks);
            alerts.AddRange(output.Alerts);
            statuses.AddRange(output.Statuses);
        }

        // Each group's outputs come in its tick order, but groups advance independently, so how they interleave depends
        // on the delivery; the topics are keyed by alert and SLO, so only each key's sequence and event times matter.
        List<Alert> byKey = [.. alerts.OrderBy(a => a.AlertId, StringComparer.Ordinal).ThenBy(a => a.EventTimeMs)];
        List<SloStatus> statusesByKey = [.. statuses.OrderBy(s => s.Slo, StringComparer.Ordinal).ThenBy(s => s.EvaluatedAtMs)];
        return new Outcome(alerts, JsonSerializer.Serialize(byKey), JsonSerializer.Serialize(statusesByKey), late);
    }
}
