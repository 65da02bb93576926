using StreamMonitor.Models.Training;
using StreamMonitor.Traffic;

namespace StreamMonitor.EndToEnd.Tests;

public sealed class TrafficPlanTests
{
    private static readonly long Start = new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();

    private static Dataset HeldOut() => Dataset.LoadCsv(RepoPaths.DataSet).Split(heldOutFraction: 0.2, seed: 7).HeldOut;

    private static TrafficOptions Options(int seed = 42) => new()
    {
        StartTimeMs = Start,
        Seed = seed,
        RatePerSecond = 50,
        Duration = TimeSpan.FromSeconds(60),
        TimeCompression = 60,
    };

    [Fact]
    public void Same_settings_give_identical_records()
    {
        var heldOut = HeldOut();
        var a = new TrafficPlan(Options(), heldOut).Records().ToList();
        var b = new TrafficPlan(Options(), heldOut).Records().ToList();
        Assert.Equal(a.Count, b.Count);
        for (var i = 0; i < a.Count; i++)
        {
            Assert.Equal(a[i].Key, b[i].Key);
            Assert.Equal(a[i].TimeMs, b[i].TimeMs);
            Assert.Equal(a[i].Feature?.Features, b[i].Feature?.Features);
        }

        var other = new TrafficPlan(Options(seed: 43), heldOut).Records().Select(r => r.TimeMs).ToList();
        Assert.NotEqual(a.Select(r => r.TimeMs).ToList(), other);
    }

    [Fact]
    public void Event_times_cover_the_compressed_span_and_are_nearly_ordered()
    {
        var plan = new TrafficPlan(Options(), HeldOut());
        var features = plan.Records().Where(r => r.Feature is not null).Select(r => r.Feature!).ToList();
        Assert.Equal(3000, features.Count);

        // 60 s of wall clock at 60x compression is one hour of event time.
        Assert.Equal(Start + 3_600_000, plan.EndEventTimeMs);
        Assert.InRange(features[^1].EventTimeMs, Start + 3_500_000, Start + 3_600_000);

        // Arrival jitter makes a few events arrive out of order, never by more than a minute here.
        var inversions = features.Zip(features.Skip(1)).Count(p => p.Second.EventTimeMs < p.First.EventTimeMs);
        Assert.InRange(inversions, 1, features.Count / 2);
        var maxBack = features.Zip(features.Skip(1)).Max(p => p.First.EventTimeMs - p.Second.EventTimeMs);
        Assert.InRange(maxBack, 1, 60_000);
    }

    [Fact]
    public void Labels_follow_their_events_in_label_time_order_and_some_never_come()
    {
        var totals = new TrafficTotals();
        var options = Options();
        var plan = new TrafficPlan(options, HeldOut());
        var records = plan.Records(totals).ToList();
        var featureTime = new Dictionary<string, long>();
        long lastLabelTime = 0;
        var labelDelays = new List<long>();
        foreach (var record in records)
        {
            if (record.Feature is { } feature)
            {
                featureTime[feature.EventId] = feature.EventTimeMs;
                continue;
            }

            var label = record.Label!;
            Assert.True(featureTime.TryGetValue(label.EventId, out var eventTime), "label before its event");
            Assert.True(label.LabelTimeMs > eventTime);
            Assert.True(label.LabelTimeMs >= lastLabelTime, "labels out of label-time order");
            lastLabelTime = label.LabelTimeMs;
            labelDelays.Add(label.LabelTimeMs - eventTime);
        }

        Assert.Equal(totals.Features, totals.Labels + totals.NeverLabeled + totals.LabelsPendingAtEnd);
        Assert.InRange(totals.NeverLabeled / (double)totals.Features, 0.07, 0.13);
        labelDelays.Sort();
        var median = labelDelays[labelDelays.Count / 2];

        // Labels still pending at the end are the long delays, so the produced median sits below the configured one.
        Assert.InRange(median, options.LabelDelayMedian.TotalMilliseconds / 3, options.LabelDelayMedian.TotalMilliseconds * 1.2);
    }

    [Fact]
    public void Drift_shifts_only_the_configured_features_and_only_in_the_drift_phase()
    {
        var options = Options();
        var plan = new TrafficPlan(options, HeldOut());
        var byPhase = plan.Records().Where(r => r.Feature is not null).GroupBy(r => plan.Phases[r.PhaseIndex].Kind)
            .ToDictionary(g => g.Key, g => g.Select(r => r.Feature!.Features).ToList());
        double Mean(PhaseKind kind, string feature) => byPhase[kind].Average(f => f[feature]!.Value);

        var normalArea = Mean(PhaseKind.Normal, "mean_area");
        var driftArea = Mean(PhaseKind.FeatureDrift, "mean_area");
        Assert.InRange(driftArea / normalArea, 1.15, 1.6);
        var normalSmooth = Mean(PhaseKind.Normal, "mean_smoothness");
        var driftSmooth = Mean(PhaseKind.FeatureDrift, "mean_smoothness");
        Assert.InRange(driftSmooth / normalSmooth, 0.9, 1.1);
        Assert.InRange(Mean(PhaseKind.LatencyRegression, "mean_area") / normalArea, 0.85, 1.15);
    }
}
