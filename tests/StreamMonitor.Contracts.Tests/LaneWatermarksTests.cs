using StreamMonitor.Contracts.Time;

namespace StreamMonitor.Contracts.Tests;

/// <summary>
/// The one watermark type (<see cref="LaneWatermarks"/>) and its one idle rule (<see cref="IdleRule"/>), which the
/// merge stage, stage A, the quality join and the alerter's lanes all use.
/// </summary>
public sealed class LaneWatermarksTests
{
    [Fact]
    public void The_idle_rule_counts_a_caught_up_lane_at_most_the_span_behind_the_front()
    {
        var rule = new IdleRule(60_000);
        Assert.Equal(40_000, rule.Floor(100_000));
        Assert.Equal(40_000, rule.Raise(10_000, 100_000));
        Assert.Equal(70_000, rule.Raise(70_000, 100_000));

        // Idle once the front has reached position + span, or before the lane has any data.
        Assert.False(rule.IsIdle(40_001, 100_000));
        Assert.True(rule.IsIdle(40_000, 100_000));
        Assert.True(rule.IsIdle(long.MinValue, long.MinValue));
        Assert.False(rule.IsIdle(0, long.MinValue));
    }

    [Fact]
    public void The_idle_rule_saturates_at_the_ends_of_long()
    {
        var rule = new IdleRule(60_000);
        Assert.Equal(long.MinValue, rule.Floor(long.MinValue));
        Assert.Equal(long.MinValue, rule.Floor(long.MinValue + 5));
        Assert.Equal(long.MaxValue - 60_000, rule.Floor(long.MaxValue));

        // position + span beyond MaxValue is clamped: a lane that far ahead is idle only at the very end of time.
        Assert.True(rule.IsIdle(long.MaxValue - 1, long.MaxValue));
        Assert.False(rule.IsIdle(long.MaxValue - 1, long.MaxValue - 1));
    }

    [Fact]
    public void Positions_only_rise_and_the_front_is_the_most_advanced_lane()
    {
        var lanes = new LaneWatermarks(new IdleRule(1_000));
        Assert.Null(lanes.Front);
        Assert.True(lanes.Observe("a", long.MinValue));
        Assert.Equal(long.MinValue, lanes.Front);
        Assert.True(lanes.Observe("a", 5_000));
        Assert.False(lanes.Observe("a", 4_000));
        Assert.False(lanes.Observe("a", 5_000));
        Assert.True(lanes.Observe("b", 7_000));
        Assert.Equal(7_000, lanes.Front);
        Assert.Equal(5_000, lanes.Position("a"));
        Assert.Equal(long.MinValue, lanes.PositionOrMin("c"));
        Assert.Null(lanes.Position("c"));
        Assert.False(lanes.Contains("c"));
    }

    [Fact]
    public void Idle_flags_report_changes_and_register_the_lane()
    {
        var lanes = new LaneWatermarks(new IdleRule(0));
        Assert.False(lanes.SetIdle("a", false));
        Assert.True(lanes.Contains("a"));
        Assert.Null(lanes.Front);
        Assert.True(lanes.SetIdle("a", true));
        Assert.False(lanes.SetIdle("a", true));
        Assert.True(lanes.IsIdle("a"));
        Assert.False(lanes.IsIdle("b"));
        Assert.True(lanes.SetIdle("a", false));
        Assert.Equal(["a"], lanes.Lanes.Select(l => l.Name));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LaneWatermarks(new IdleRule(-1)));
    }
}
