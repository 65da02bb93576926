using System.Text.Json;
using StreamMonitor.Kafka;
using StreamMonitor.Slo;
using static StreamMonitor.Slo.Tests.Generated;

namespace StreamMonitor.Alerter.Tests;

/// <summary>The alerter's checkpoint of its group watermarks: checkpoints of both formats restore.</summary>
public sealed class GroupWatermarkCheckpointTests
{
    private static readonly TimeSpan IdleSpan = TimeSpan.FromMinutes(15);

    [Fact]
    public void A_checkpoint_with_the_single_watermark_of_an_older_alerter_restores_every_group_from_it()
    {
        var topics = new TopicCatalog();
        var latency = topics.LatencyResults + "[0]";
        var quality = topics.QualityResults + "[1]";
        var old = $$"""
            {"Evaluator":{"ClockMs":{{T0 + (9 * Minute)}},"ClockStartMs":{{T0 + Minute}}},"Notifier":{},
             "Lanes":{"{{latency}}":{{T0 + (10 * Minute)}},"{{quality}}":{{T0 + (2 * Minute)}},"streammon.gone[0]":{{T0}}},
             "WatermarkMs":{{T0 + (2 * Minute)}}}
            """;
        var state = JsonSerializer.Deserialize<AlerterState>(old)!;
        var watermarks = new GroupWatermarks(IdleSpan);
        state.RestoreWatermarks(watermarks, topics);
        foreach (var group in Enum.GetValues<TickGroup>())
        {
            Assert.Equal(T0 + (2 * Minute), watermarks.Current(group));
        }

        // Each lane went to the group of its topic: latency reads on without waiting for the quality backlog.
        Assert.Equal(new[] { latency, quality }, watermarks.CaptureLanes().Keys.Order(StringComparer.Ordinal));
        watermarks.Expect(TickGroup.Latency, latency);
        watermarks.Expect(TickGroup.Quality, quality);
        watermarks.Observe(TickGroup.Latency, latency, T0 + (11 * Minute));
        watermarks.MarkCaughtUp(TickGroup.Latency, latency);
        Assert.Equal(T0 + (11 * Minute), watermarks.Current(TickGroup.Latency));
        Assert.Equal(T0 + (2 * Minute), watermarks.Current(TickGroup.Quality));

        // The older evaluator state had one grid origin: every group keeps it (missing data of SLOs that never had data
        // is measured from it).
        var evaluator = new AlertEvaluator([Availability(), Accuracy()], Options(TimeSpan.FromMinutes(1)));
        evaluator.Restore(state.Evaluator);
        var output = evaluator.AdvanceTo(T0 + (20 * Minute) + Hour);
        Assert.Equal(T0 + (17 * Minute), Assert.Single(output.Alerts, a => a.AlertId == "data-missing/cancer-accuracy").EventTimeMs);
        Assert.Equal(T0 + (17 * Minute), Assert.Single(output.Alerts, a => a.AlertId == "data-missing/cancer-availability").EventTimeMs);

        // A new checkpoint carries each group's watermark and no single one.
        var next = new AlerterState { Lanes = watermarks.CaptureLanes(), GroupWatermarksMs = watermarks.CaptureCurrent() };
        var json = JsonSerializer.Serialize(next, new JsonSerializerOptions { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull });
        Assert.DoesNotContain("WatermarkMs\"", json, StringComparison.Ordinal);
        var restored = new GroupWatermarks(IdleSpan);
        JsonSerializer.Deserialize<AlerterState>(json)!.RestoreWatermarks(restored, topics);
        Assert.Equal(T0 + (11 * Minute), restored.Current(TickGroup.Latency));
        Assert.Equal(T0 + (2 * Minute), restored.Current(TickGroup.Quality));
    }
}
