using System.Text;
using Confluent.Kafka;
using StreamMonitor.Aggregator.Topology;
using StreamMonitor.Analytics.Latency;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.State;
using StreamMonitor.Streams;
using StreamMonitor.Testing;

namespace StreamMonitor.Aggregator.Tests;

/// <summary>
/// The merge's final result per window must be a function of the input alone: the interleaving of the sources'
/// partials on the partials topic (which depends on how fast each input partition is consumed: a backlog or a replay
/// lets partitions race) must not change it, even when sources race apart by more than merge grace + retention.
/// </summary>
public class MergeDeterminismTests
{
    private const long SpanMs = 300_000;
    private const long StepMs = 250;
    private const long SentinelMs = SpanMs + 600_000;

    private static AggregatorOptions Options() => new() { Windows = ["10s"], Grace = TimeSpan.FromSeconds(1), IdleTimeout = TimeSpan.FromSeconds(5), MergeGrace = TimeSpan.FromSeconds(2), MergeRetention = TimeSpan.FromSeconds(20) };

    [Fact]
    public void Window_results_are_the_same_for_every_interleaving_of_the_sources_even_when_they_race_apart_past_the_retention()
    {
        var pipeline = new InMemoryPipeline(Options());
        var streams = StageAOutputs(pipeline);

        // Sequential: source 0's whole stream, then source 1's... (a partition racing through a backlog: by the time
        // the last source's first partial arrives, the others are 290 s ahead, far past close + 2 s + 20 s).
        var sequential = RunMerge(pipeline, streams, s => s.SelectMany(x => x));
        var reversed = RunMerge(pipeline, streams, s => s.AsEnumerable().Reverse().SelectMany(x => x));
        var roundRobin = RunMerge(pipeline, streams, RoundRobin);

        foreach (var run in new[] { sequential, reversed, roundRobin })
        {
            Assert.Empty(run.DeadLetters);
        }

        var windows = 0;
        for (long start = 0; start < SpanMs; start += 10_000)
        {
            var key = new WindowKey(WindowKind.Latency, "m", "1", start, 10_000).ToString();
            var expected = 4 * (10_000 / StepMs);
            foreach (var run in new[] { sequential, reversed, roundRobin })
            {
                Assert.True(run.Results.TryGetValue(key, out var result), key);
                Assert.Equal(expected, result.Count);
                Assert.Equal(4, result.Partitions);
            }

            Assert.Equal(sequential.Encoded[key], reversed.Encoded[key]);
            Assert.Equal(sequential.Encoded[key], roundRobin.Encoded[key]);
            windows++;
        }

        Assert.Equal(30, windows);
    }

    [Fact]
    public void An_incomplete_window_is_dropped_at_retention_only_once_its_lagging_sources_are_idle_and_a_later_partial_is_dead_lettered()
    {
        var pipeline = new InMemoryPipeline(Options());
        var topology = pipeline.Topology;
        var merge = new MergeStageTask([topology], pipeline.Merge, null, pipeline.Codec, new ProgressBoard());
        var output = new RecordingOutput();
        var window = new WindowKey(WindowKind.Latency, "m", "1", 0, 10_000);
        var sources = topology.Sources;
        var offset = 0L;
        void Feed(byte[] value) => merge.Process(TaskDriver.Record(pipeline.Topics.WindowPartials, 0, offset++, value), output);
        byte[] State(int count)
        {
            var aggregate = topology.Create();
            for (var i = 0; i < count; i++)
            {
                aggregate.Add(new Prediction { EventId = "e", ModelName = "m", ModelVersion = "1", EventTimeMs = 1_000, Timing = new PredictionTiming { E2eUs = 1_000 } });
            }

            return topology.Codec.Encode(aggregate);
        }

        // Source 0 closes the window and races 1 h ahead; source 1 has a provisional partial and is behind, busy;
        // sources 2 and 3 are empty partitions (idle from the start).
        Feed(PartialRecords.PartialValue(window, sources[0], true, State(3)));
        Feed(PartialRecords.PartialValue(window, sources[1], false, State(2)));
        Feed(PartialRecords.WatermarkValue(sources[1], 5_000));
        Feed(PartialRecords.WatermarkValue(sources[2], long.MinValue, idle: true));
        Feed(PartialRecords.WatermarkValue(sources[3], long.MinValue, idle: true));
        Feed(PartialRecords.WatermarkValue(sources[0], 3_600_000));
        Assert.Equal(1, merge.OpenWindows);

        // Source 1 is only behind: its final partial still counts, however far the others are.
        Feed(PartialRecords.PartialValue(window, sources[1], true, State(4)));
        var latest = pipeline.LatestResults(output.Records.Select(r => (r.Topic, r.Key, r.Value)));
        Assert.Equal(7, latest[window.ToString()].Count);
        Assert.Equal(1, merge.OpenWindows);

        // Source 1 announces idle (it consumed all of its input): now the window is past retention and dropped.
        Feed(PartialRecords.WatermarkValue(sources[1], 5_000, idle: true));
        Assert.Equal(0, merge.OpenWindows);
        Assert.Equal(0, merge.Expired);

        // It wakes up with one more partial for the dropped window: counted and dead-lettered, never a partial result.
        var before = output.Records.Count(r => r.Topic == pipeline.Topics.LatencyResults);
        Feed(PartialRecords.WatermarkValue(sources[1], 5_000));
        Feed(PartialRecords.PartialValue(window, sources[1], false, State(5)));
        Assert.Equal(1, merge.Expired);
        Assert.Equal(before, output.Records.Count(r => r.Topic == pipeline.Topics.LatencyResults));
        var letter = pipeline.Codec.Deserialize<DeadLetter>(output.Records.Single(r => r.Topic == pipeline.Topics.DeadLetter).Value);
        Assert.Equal("PARTIAL_EXPIRED", letter.ReasonCode);

        // The idle and expiry state survives a checkpoint.
        var restored = new MergeStageTask([topology], pipeline.Merge, merge.Snapshot(), pipeline.Codec, new ProgressBoard());
        var after = new RecordingOutput();
        restored.Process(TaskDriver.Record(pipeline.Topics.WindowPartials, 0, offset++, PartialRecords.PartialValue(window, sources[1], false, State(6))), after);
        Assert.Equal(2, restored.Expired);
        Assert.DoesNotContain(after.Records, r => r.Topic == pipeline.Topics.LatencyResults);
    }

    [Fact]
    public void A_task_announces_idle_only_after_flushing_every_open_window_and_un_announces_before_its_next_record()
    {
        var pipeline = new InMemoryPipeline(Options());
        var task = new WindowStageTask<LatencyAggregate>(pipeline.Topology, pipeline.Stage, new TopicPartition(pipeline.Topics.Predictions, 1), null, pipeline.Codec);
        var output = new RecordingOutput();
        var offset = 0L;
        void Feed(long t) => task.Process(TaskDriver.Record(pipeline.Topics.Predictions, 1, offset++, pipeline.Codec.Serialize(new Prediction { EventId = "e", ModelName = "m", ModelVersion = "1", EventTimeMs = t, Timing = new PredictionTiming { E2eUs = 5 } })), output);

        Feed(1_000);
        Feed(12_000);

        // Caught up but not behind by the idle timeout: nothing.
        task.OnIdle(14_000, output);
        Assert.DoesNotContain(output.Records.Select(r => PartialRecords.Parse(r.Value)), p => p.Idle);

        // Behind by more than the idle timeout: the open window [10 s, 20 s) is flushed although the watermark is not
        // past its close + idle, then the idle watermark follows on every partials partition.
        output.Records.Clear();
        task.OnIdle(17_000, output);
        var records = output.Records.Select(r => (r.Partition, Record: PartialRecords.Parse(r.Value))).ToList();
        var flushed = records.Single(r => r.Record.Window is not null);
        Assert.Equal(10_000, flushed.Record.Window!.Value.WindowStartMs);
        Assert.False(flushed.Record.Final);
        var idle = records.Where(r => r.Record.Idle).ToList();
        Assert.Equal(pipeline.Topics.ResultPartitions, idle.Count);
        Assert.True(records.FindIndex(r => r.Record.Window is not null) < records.FindIndex(r => r.Partition == flushed.Partition && r.Record.Idle));

        // Announced once; the next record first takes it back.
        output.Records.Clear();
        task.OnIdle(18_000, output);
        Assert.Empty(output.Records);
        Feed(13_000);
        var first = PartialRecords.Parse(output.Records[0].Value);
        Assert.Null(first.Window);
        Assert.False(first.Idle);
        Assert.Equal(pipeline.Topics.ResultPartitions, output.Records.Count(r => PartialRecords.Parse(r.Value) is { Window: null, Idle: false }));
    }

    /// <summary>Per source, its stage-A outputs to the partials topic in order (consumed to the end, then idle).</summary>
    private static List<List<(int Partition, byte[] Key, byte[] Value)>> StageAOutputs(InMemoryPipeline pipeline)
    {
        var streams = new List<List<(int, byte[], byte[])>>();
        for (var p = 0; p < 4; p++)
        {
            var task = new WindowStageTask<LatencyAggregate>(pipeline.Topology, pipeline.Stage, new TopicPartition(pipeline.Topics.Predictions, p), null, pipeline.Codec);
            var output = new RecordingOutput();
            long offset = 0;
            for (long t = p * 7; t < SpanMs; t += StepMs)
            {
                var prediction = new Prediction { EventId = $"e{p}-{t}", ModelName = "m", ModelVersion = "1", EventTimeMs = t, Timing = new PredictionTiming { E2eUs = 100 + t % 977 } };
                task.Process(TaskDriver.Record(pipeline.Topics.Predictions, p, offset++, pipeline.Codec.Serialize(prediction)), output);
            }

            // A sentinel of another model far ahead closes every real window on this partition; then the partition is
            // caught up, and idle once the process watermark is past the idle timeout.
            var sentinel = PredictionGenerator.Sentinel(SentinelMs);
            task.Process(TaskDriver.Record(pipeline.Topics.Predictions, p, offset++, pipeline.Codec.Serialize(sentinel)), output);
            task.OnIdle(SentinelMs + 60_000, output);
            streams.Add(output.Records.Where(r => r.Topic == pipeline.Topics.WindowPartials).Select(r => (r.Partition!.Value, r.Key, r.Value)).ToList());
        }

        return streams;
    }

    private static IEnumerable<(int Partition, byte[] Key, byte[] Value)> RoundRobin(List<List<(int Partition, byte[] Key, byte[] Value)>> streams)
    {
        for (var i = 0; i < streams.Max(s => s.Count); i++)
        {
            foreach (var stream in streams.Where(s => i < s.Count))
            {
                yield return stream[i];
            }
        }
    }

    private static MergeRun RunMerge(InMemoryPipeline pipeline, List<List<(int Partition, byte[] Key, byte[] Value)>> streams, Func<List<List<(int Partition, byte[] Key, byte[] Value)>>, IEnumerable<(int Partition, byte[] Key, byte[] Value)>> order)
    {
        var outputs = new List<(string Topic, int? Partition, byte[] Key, byte[] Value)>();
        var interleaved = order(streams).ToList();
        for (var p = 0; p < pipeline.Topics.ResultPartitions; p++)
        {
            var records = interleaved.Where(r => r.Partition == p).Select((r, offset) => TaskDriver.Record(pipeline.Topics.WindowPartials, p, offset, r.Value, r.Key)).ToList();
            outputs.AddRange(TaskDriver.Run(_ => new MergeStageTask([pipeline.Topology], pipeline.Merge, null, pipeline.Codec, new ProgressBoard()), records, null));
        }

        var results = outputs.Where(o => o.Topic == pipeline.Topics.LatencyResults).GroupBy(o => Encoding.UTF8.GetString(o.Key)).ToDictionary(g => g.Key, g => g.Last().Value);
        return new MergeRun(
            results.ToDictionary(r => r.Key, r => pipeline.Codec.Deserialize<LatencyWindowResult>(r.Value)),
            results,
            outputs.Where(o => o.Topic == pipeline.Topics.DeadLetter).ToList());
    }

    private sealed record MergeRun(Dictionary<string, LatencyWindowResult> Results, Dictionary<string, byte[]> Encoded, List<(string Topic, int? Partition, byte[] Key, byte[] Value)> DeadLetters);
}
