using System.Globalization;
using StreamMonitor.Aggregator.Quality;
using StreamMonitor.Contracts;
using StreamMonitor.Kafka;
using StreamMonitor.Streams;
using StreamMonitor.Testing;

namespace StreamMonitor.Aggregator.Tests;

/// <summary>
/// The quality join keeps its state in changelog entries (<see cref="IChangelogTask"/>): its checkpoint record has a
/// fixed size however many predictions wait for labels, and a checkpoint writes only what changed since the last one.
/// (Restores from changelog plus checkpoint, with kills between the two writes and with compaction, are compared with
/// uninterrupted runs in <see cref="QualityPipelineTests"/>.)
/// </summary>
public sealed class QualityChangelogTests
{
    private static readonly TopicCatalog Topics = new();
    private static readonly EventCodec Codec = new();
    private static readonly QualitySettings Settings = new(WindowSpec.Tumbling(TimeSpan.FromMinutes(1)).WithGrace(5_000), LabelScenario.HorizonMs, 60_000, Topics);

    // Every fourth prediction a regression one, so that the chunks carry regression errors too.
    private static Prediction Prediction(int i) => new()
    {
        EventId = "e" + i.ToString(CultureInfo.InvariantCulture),
        ModelName = "fraud",
        ModelVersion = "1",
        EventTimeMs = 1_000_000 + (i * 10L),
        Status = PredictionStatus.OK,
        OutputKind = i % 4 == 3 ? OutputKind.REGRESSION : OutputKind.BINARY_PROBABILITY,
        Score = i % 4 == 3 ? i * 0.37 : (i % 100) / 100.0,
        PredictedClass = i % 4 == 3 ? null : i % 100 >= 50 ? 1 : 0,
    };

    [Fact]
    public void The_checkpoint_record_has_a_fixed_size_and_a_checkpoint_writes_only_the_changed_entries()
    {
        var task = new QualityJoinTask(Settings, 0, null, new Dictionary<string, byte[]>(StringComparer.Ordinal), InMemoryPipeline.Inputs(Codec), Codec);
        var output = new RecordingOutput();
        var offset = 0L;
        void Feed(string topic, byte[] value) => task.Process(TaskDriver.Record(topic, 0, offset++, value), output);

        Feed(Topics.Predictions, Codec.Serialize(Prediction(0)));
        var small = task.Snapshot().Length;
        for (var i = 1; i < 5_000; i++)
        {
            Feed(Topics.Predictions, Codec.Serialize(Prediction(i)));
        }

        // 50 s of predictions: windows of one minute, every prediction pending.
        Assert.Equal(5_000, task.Waiting);
        Assert.Equal(small, task.Snapshot().Length);
        var first = task.TakeChanges();
        Assert.Equal(5_000, first.Count(c => c.Key[0] == 'P' && c.Value is not null));
        Assert.Equal(task.OpenWindows, first.Count(c => c.Key[0] == 'W'));

        for (var i = 0; i < 10; i++)
        {
            Feed(Topics.Labels, Codec.Serialize(new Label { EventId = "e" + (i * 7).ToString(CultureInfo.InvariantCulture), ModelName = "fraud", Value = 1, LabelTimeMs = 1_060_000 }));
        }

        // Ten joins: ten pending entries deleted, ten resolved entries, and the touched windows' counts plus one
        // chunk each with only the new label delays, scores and regression errors.
        var second = task.TakeChanges();
        Assert.Equal(10, second.Count(c => c.Key[0] == 'P' && c.Value is null));
        Assert.Equal(10, second.Count(c => c.Key[0] == 'R' && c.Value is not null));
        var touched = second.Count(c => c.Key[0] == 'W');
        Assert.InRange(touched, 1, 2);
        Assert.Equal(touched, second.Count(c => c.Key[0] == 'C'));
        Assert.Equal(10 + 10 + (2 * touched), second.Count);

        // The repartition dedupe table: one entry (partition, highest offset) per labels partition seen, whatever the traffic.
        Assert.Equal(small + 12, task.Snapshot().Length);
        Assert.Empty(task.TakeChanges());
    }

    [Fact]
    public void A_task_restored_from_its_changelog_entries_continues_exactly_like_the_original()
    {
        var none = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        var original = new QualityJoinTask(Settings, 0, null, none, InMemoryPipeline.Inputs(Codec), Codec);
        var changelog = ChangelogPartition.Empty();
        var topic = new List<ChangelogRecord>();
        var scratch = new RecordingOutput();
        var offset = 0L;
        var records = Enumerable.Range(0, 3_000).Select(i => (Topics.Predictions, Codec.Serialize(Prediction(i))))
            .Concat(Enumerable.Range(0, 3_000).Where(i => i % 3 != 0).Select(i => (Topics.Labels, Codec.Serialize(new Label { EventId = "e" + i.ToString(CultureInfo.InvariantCulture), ModelName = "fraud", Value = i % 2, LabelTimeMs = 1_030_000 + (i * 10L) }))))
            .Select(r => TaskDriver.Record(r.Item1, 0, offset++, r.Item2))
            .ToList();

        // Checkpoint twice while labels arrive, then restore a copy from the checkpoint and the changelog.
        byte[]? state = null;
        for (var i = 0; i < 4_000; i++)
        {
            original.Process(records[i], scratch);
            if (i is 2_500 or 3_999)
            {
                topic.AddRange(changelog.Stage(original.TakeChanges()).Records);
                state = original.Snapshot();
                topic.AddRange(changelog.Commit());
            }
        }

        ChangelogPartition.Restore(LogCompaction.Compact(topic), changelog.Generation, out var entries, out _);
        var restored = new QualityJoinTask(Settings, 0, state, entries, InMemoryPipeline.Inputs(Codec), Codec);
        Assert.Equal(original.Waiting, restored.Waiting);
        Assert.Equal(original.OpenWindows, restored.OpenWindows);

        var expected = new RecordingOutput();
        var actual = new RecordingOutput();
        foreach (var record in records.Skip(4_000).Append(TaskDriver.Record(Topics.Predictions, 0, offset, Codec.Serialize(Prediction(1_000_000)))))
        {
            original.Process(record, expected);
            restored.Process(record, actual);
        }

        Assert.NotEmpty(expected.Records);
        Assert.Equal(expected.Records.Select(r => (r.Topic, r.Partition, Convert.ToHexString(r.Key), Convert.ToHexString(r.Value))), actual.Records.Select(r => (r.Topic, r.Partition, Convert.ToHexString(r.Key), Convert.ToHexString(r.Value))));
        Assert.Equal(original.Snapshot(), restored.Snapshot());
    }
}
