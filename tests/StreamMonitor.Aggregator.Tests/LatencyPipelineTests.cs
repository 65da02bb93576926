using System.Text;
using Confluent.Kafka;
using StreamMonitor.Aggregator.Topology;
using StreamMonitor.Analytics.Latency;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.State;
using StreamMonitor.Streams;
using StreamMonitor.Testing;

namespace StreamMonitor.Aggregator.Tests;

public class LatencyPipelineTests
{
    private static readonly int[] Quantiles = [50_000, 90_000, 95_000, 99_000, 99_900];

    private static AggregatorOptions Options() => new() { Windows = ["10s", "1m"], Grace = TimeSpan.FromSeconds(5), MergeGrace = TimeSpan.FromSeconds(10) };

    /// <summary>A sentinel per partition far in the future so every real window closes on every partition.</summary>
    private static List<IReadOnlyList<Prediction>> WithSentinels(List<IReadOnlyList<Prediction>> partitions, long atMs) =>
        partitions.Select(p => (IReadOnlyList<Prediction>)[.. p, PredictionGenerator.Sentinel(atMs)]).ToList();

    [Fact]
    public void Every_window_result_equals_the_exact_computation_over_its_predictions()
    {
        var predictions = PredictionGenerator.Generate(30_000, seed: 1);
        var pipeline = new InMemoryPipeline(Options());
        var partitions = WithSentinels(PredictionGenerator.Partition(predictions, 4), predictions.Max(p => p.EventTimeMs) + 600_000);
        var results = pipeline.LatestResults(pipeline.Run(partitions));

        var specs = pipeline.Options.WindowSpecs();
        var checkedWindows = 0;
        foreach (var spec in specs)
        {
            foreach (var group in predictions.GroupBy(p => (p.ModelVersion, Start: spec.LastWindowStart(p.EventTimeMs))))
            {
                var key = new WindowKey(WindowKind.Latency, "fraud", group.Key.ModelVersion, group.Key.Start, spec.SizeMs).ToString();
                Assert.True(results.TryGetValue(key, out var result), key);
                var all = group.ToList();
                var ok = all.Where(p => p.Status == PredictionStatus.OK).ToList();
                Assert.Equal(all.Count, result.Count);
                Assert.Equal(all.Count - ok.Count, result.ErrorCount);
                Assert.Equal((double)(all.Count - ok.Count) / all.Count, result.ErrorRate, 12);
                Assert.Equal(all.Count * 1000.0 / spec.SizeMs, result.ThroughputPerSecond, 9);
                Assert.Equal(ok.Average(p => (double)p.Timing.BatchSize), result.BatchSizeMean, 9);
                Assert.Equal(ok.Max(p => p.Timing.BatchSize), result.BatchSizeMax);
                Assert.Equal(0, result.LateCount);
                Assert.Equal(4, result.Partitions);
                foreach (var sli in result.LatencySlis)
                {
                    Assert.Equal(ok.Count(p => p.Timing.E2eUs <= sli.ThresholdUs), sli.Good);
                    Assert.Equal(all.Count, sli.Total);
                }

                for (var stage = 0; stage < PredictionTiming.StageNames.Count; stage++)
                {
                    var sorted = ok.Select(p => p.Timing.StageMicros(stage)).Order().ToArray();
                    var reported = result.Stages[stage];
                    Assert.Equal(PredictionTiming.StageNames[stage], reported.Stage);
                    Assert.Equal(sorted.Length, reported.Count);
                    Assert.Equal(sorted.Average(), reported.MeanUs, 6);
                    Assert.Equal(sorted[^1], reported.MaxUs);
                    long[] values = [reported.P50Us, reported.P90Us, reported.P95Us, reported.P99Us, reported.P999Us];
                    for (var q = 0; q < Quantiles.Length; q++)
                    {
                        var exact = sorted[LatencyHistogram.NearestRank(sorted.Length, Quantiles[q]) - 1];
                        Assert.True(Math.Abs(values[q] - exact) <= exact * result.RelativeError, $"{key} {reported.Stage} q{Quantiles[q]}: {values[q]} vs exact {exact}");
                    }
                }

                checkedWindows++;
            }
        }

        Assert.True(checkedWindows > 20, $"only {checkedWindows} windows");
    }

    [Fact]
    public void Crashes_with_restore_from_checkpoints_and_replay_give_exactly_the_uninterrupted_results()
    {
        var predictions = PredictionGenerator.Generate(30_000, seed: 2);
        var partitions = WithSentinels(PredictionGenerator.Partition(predictions, 4), predictions.Max(p => p.EventTimeMs) + 600_000);
        var pipeline = new InMemoryPipeline(Options());
        var clean = pipeline.LatestResults(pipeline.Run(partitions));
        for (var seed = 10; seed < 13; seed++)
        {
            var crashed = pipeline.LatestResults(pipeline.Run(partitions, crashSeed: seed));
            Assert.Equal(clean.Keys.Order(), crashed.Keys.Order());
            foreach (var (key, result) in clean)
            {
                Assert.Equal(pipeline.Codec.Serialize(result), pipeline.Codec.Serialize(crashed[key]));
            }
        }
    }

    [Fact]
    public void Late_and_malformed_records_are_counted_and_routed_with_reasons()
    {
        var pipeline = new InMemoryPipeline(new AggregatorOptions { Windows = ["10s"], Grace = TimeSpan.FromSeconds(1) });
        var task = new WindowStageTask<LatencyAggregate>(pipeline.Topology, pipeline.Stage, new TopicPartition(pipeline.Topics.Predictions, 0), null, pipeline.Codec);
        var output = new RecordingOutput();
        var offset = 0;
        void Feed(byte[] value) => task.Process(new ConsumeResult<byte[], byte[]> { Topic = pipeline.Topics.Predictions, Partition = 0, Offset = offset++, Message = new Message<byte[], byte[]> { Key = [], Value = value } }, output);
        Prediction At(long t) => new() { EventId = "e" + t, ModelName = "m", ModelVersion = "1", EventTimeMs = t, Timing = new PredictionTiming { E2eUs = 10 } };

        Feed(pipeline.Codec.Serialize(At(0)));
        Feed(pipeline.Codec.Serialize(At(25_000)));
        Feed(pipeline.Codec.Serialize(At(5_000))); // window [0, 10s) closed at 11 s
        Feed([1, 2, 3]);
        Feed(pipeline.Codec.Serialize(At(40_000)));

        var late = output.Records.Where(r => r.Topic == pipeline.Topics.LateEvents).Select(r => pipeline.Codec.Deserialize<DeadLetter>(r.Value)).ToList();
        var letter = Assert.Single(late);
        Assert.Equal("LATE", letter.ReasonCode);
        Assert.Equal(5_000, letter.EventTimeMs);
        Assert.Equal(2, letter.SourceOffset);
        var dead = output.Records.Where(r => r.Topic == pipeline.Topics.DeadLetter).Select(r => pipeline.Codec.Deserialize<DeadLetter>(r.Value)).ToList();
        Assert.Equal("DECODE_TRUNCATED", Assert.Single(dead).ReasonCode);
        Assert.Equal((1L, 1L), (task.Late, task.Malformed));

        // The late record is counted in the window that held stream time (25 s → [20 s, 30 s)).
        var partials = output.Records.Where(r => r.Topic == pipeline.Topics.WindowPartials && !Encoding.UTF8.GetString(r.Key).StartsWith("watermark", StringComparison.Ordinal))
            .Select(r => PartialRecords.Parse(r.Value)).ToDictionary(p => p.Window!.Value.WindowStartMs);
        using var reader = new BinaryReader(new MemoryStream(partials[20_000].State));
        Assert.Equal(1, LatencyAggregate.Codec.ReadVersioned(reader).LateCount);
        Assert.Equal(2, partials.Count);
    }

    [Fact]
    public void A_quiet_partition_does_not_stall_the_window_and_its_records_are_in_the_result()
    {
        var pipeline = new InMemoryPipeline(new AggregatorOptions { Windows = ["10s"], Grace = TimeSpan.FromSeconds(1), IdleTimeout = TimeSpan.FromSeconds(5), MergeGrace = TimeSpan.FromSeconds(2) });
        var busy = new WindowStageTask<LatencyAggregate>(pipeline.Topology, pipeline.Stage, new TopicPartition(pipeline.Topics.Predictions, 0), null, pipeline.Codec);
        var quiet = new WindowStageTask<LatencyAggregate>(pipeline.Topology, pipeline.Stage, new TopicPartition(pipeline.Topics.Predictions, 1), null, pipeline.Codec);
        var output = new RecordingOutput();
        var offset = 0;
        void Feed(WindowStageTask<LatencyAggregate> task, long t) => task.Process(
            new ConsumeResult<byte[], byte[]>
            {
                Topic = pipeline.Topics.Predictions,
                Partition = 0,
                Offset = offset++,
                Message = new Message<byte[], byte[]> { Key = [], Value = pipeline.Codec.Serialize(new Prediction { EventId = "e", ModelName = "m", ModelVersion = "1", EventTimeMs = t, Timing = new PredictionTiming { E2eUs = t } }) },
            },
            output);

        Feed(quiet, 1_000);
        Feed(quiet, 2_000);
        for (long t = 0; t <= 40_000; t += 500)
        {
            Feed(busy, t);
        }

        // Partitions 2 and 3 never see data at all; partition 1 stops at 2 s. The busy partition's stream time is the
        // process watermark: the quiet partition flushes its open window once it passes end + grace + idle.
        quiet.OnIdle(busy.StreamTime, output);
        var merge = new MergeStageTask([pipeline.Topology], pipeline.Merge, null, pipeline.Codec, new ProgressBoard());
        var results = new RecordingOutput();
        foreach (var record in output.Records.Where(r => r.Topic == pipeline.Topics.WindowPartials))
        {
            merge.Process(new ConsumeResult<byte[], byte[]> { Topic = record.Topic, Partition = record.Partition!.Value, Offset = 0, Message = new Message<byte[], byte[]> { Key = record.Key, Value = record.Value } }, results);
        }

        var latest = pipeline.LatestResults(results.Records.Select(r => (r.Topic, r.Key, r.Value)));
        var first = latest[new WindowKey(WindowKind.Latency, "m", "1", 0, 10_000).ToString()];
        Assert.Equal(20 + 2, first.Count);
        Assert.Equal(2, first.Partitions);
        Assert.True(latest.ContainsKey(new WindowKey(WindowKind.Latency, "m", "1", 10_000, 10_000).ToString()));
    }
}
