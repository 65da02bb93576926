using StreamMonitor.Contracts;
using StreamMonitor.Slo;
using static StreamMonitor.Slo.Tests.Generated;

namespace StreamMonitor.Slo.Tests;

/// <summary>Each tick group waits only for the partitions of the topic it reads; the alerter's checkpoint of them is tested with the alerter.</summary>
public sealed class GroupWatermarkTests
{
    private static readonly TimeSpan IdleSpan = TimeSpan.FromMinutes(15);

    [Fact]
    public void A_group_waits_only_for_its_own_partitions_and_an_idle_group_follows_the_front()
    {
        var watermarks = new GroupWatermarks(IdleSpan);
        watermarks.Expect(TickGroup.Latency, "latency[0]");
        watermarks.Expect(TickGroup.Latency, "latency[1]");
        watermarks.Expect(TickGroup.Quality, "quality[0]");
        watermarks.Observe(TickGroup.Latency, "latency[0]", T0 + (5 * Minute));
        watermarks.Observe(TickGroup.Latency, "latency[1]", T0 + (4 * Minute));
        watermarks.MarkCaughtUp(TickGroup.Latency, "latency[0]");
        watermarks.MarkCaughtUp(TickGroup.Latency, "latency[1]");

        // The quality backlog is still being read: it holds the quality ticks, not the latency ones.
        Assert.Equal(T0 + (4 * Minute), watermarks.Current(TickGroup.Latency));
        Assert.Null(watermarks.Current(TickGroup.Quality));
        Assert.Null(watermarks.Current(TickGroup.Drift));

        watermarks.Observe(TickGroup.Quality, "quality[0]", T0 + Minute);
        watermarks.MarkCaughtUp(TickGroup.Quality, "quality[0]");
        Assert.Equal(T0 + Minute, watermarks.Current(TickGroup.Quality));

        // Latency moves on while quality trails by design: latency is not held; once quality trails the front by more
        // than the idle span it follows the front at that distance, and so does drift, which has no data at all.
        watermarks.Observe(TickGroup.Latency, "latency[0]", T0 + (30 * Minute));
        watermarks.Observe(TickGroup.Latency, "latency[1]", T0 + (30 * Minute));
        Assert.Equal(T0 + (30 * Minute), watermarks.Current(TickGroup.Latency));
        Assert.Equal(T0 + (15 * Minute), watermarks.Current(TickGroup.Quality));
        Assert.Equal(T0 + (15 * Minute), watermarks.Current(TickGroup.Drift));

        // A quality partition being read holds only its group, and no watermark moves back.
        watermarks.Observe(TickGroup.Quality, "quality[0]", T0 + (2 * Minute));
        watermarks.Observe(TickGroup.Latency, "latency[0]", T0 + (40 * Minute));
        watermarks.Observe(TickGroup.Latency, "latency[1]", T0 + (40 * Minute));
        Assert.Equal(T0 + (40 * Minute), watermarks.Current(TickGroup.Latency));
        Assert.Equal(T0 + (15 * Minute), watermarks.Current(TickGroup.Quality));
        Assert.Equal(T0 + (25 * Minute), watermarks.Current(TickGroup.Drift));
        watermarks.MarkCaughtUp(TickGroup.Quality, "quality[0]");
        Assert.Equal(T0 + (25 * Minute), watermarks.Current(TickGroup.Quality));
    }

    [Fact]
    public void A_latency_page_is_released_at_its_own_lateness_while_quality_trails()
    {
        var evaluator = new AlertEvaluator([Availability(), Accuracy()], Options(TimeSpan.FromMinutes(1), lowTrafficConfidence: 0));
        var watermarks = new GroupWatermarks(IdleSpan);
        watermarks.Expect(TickGroup.Latency, "latency[0]");
        watermarks.Expect(TickGroup.Quality, "quality[0]");
        evaluator.Apply(new QualityWindowResult { ModelName = "cancer", ModelVersion = "1", WindowStartMs = T0, WindowSizeMs = Minute, Revision = 1, Predictions = 10, Labeled = 10, Correct = 10 });
        watermarks.Observe(TickGroup.Quality, "quality[0]", T0 + Minute);
        watermarks.MarkCaughtUp(TickGroup.Quality, "quality[0]");

        // Every request fails from T0 + 10 min: the 1h/5m page fires at the tick T0 + 11 min (1/60 of the hour > 1.44%),
        // released once the latency watermark passes it by the allowed lateness (1 min), whatever quality does.
        var page = (Alert?)null;
        for (var s = T0; s < T0 + (30 * Minute) && page is null; s += Minute)
        {
            evaluator.Apply(Latency(s, Minute, 1000, s >= T0 + (10 * Minute) ? 1000 : 0));
            watermarks.Observe(TickGroup.Latency, "latency[0]", s + Minute);
            watermarks.MarkCaughtUp(TickGroup.Latency, "latency[0]");
            page = evaluator.AdvanceTo(watermarks).Alerts.FirstOrDefault(a => a.AlertId == "slo/cancer-availability/page");
            if (page is not null)
            {
                Assert.Equal(T0 + (11 * Minute), page.EventTimeMs);
                Assert.Equal(T0 + (12 * Minute), watermarks.Current(TickGroup.Latency));
            }
        }

        Assert.NotNull(page);
        Assert.Equal(T0 + Minute, watermarks.Current(TickGroup.Quality));
    }
}
