using System.Text;
using Confluent.Kafka;
using StreamMonitor.Aggregator.Quality;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.Validation;
using StreamMonitor.Kafka;
using StreamMonitor.Streams;
using StreamMonitor.Testing;

namespace StreamMonitor.Aggregator.Tests;

/// <summary>
/// The label repartition step (<see cref="LabelRepartitioner.Route"/>) and the join's side of it: a valid label goes to
/// the murmur2 partition of its event id with its source coordinates, a rejected one is dead-lettered once with its
/// original coordinates, a label produced again after a crash is dropped by the join (also after a checkpoint), and a
/// join checkpoint of the format before the repartition step is still read.
/// </summary>
public class LabelRepartitionTests
{
    private const long Now = 1_763_800_000_000;
    private static readonly TopicCatalog Topics = new();
    private static readonly EventCodec Codec = new();
    private static readonly QualitySettings Settings = new(WindowSpec.Tumbling(TimeSpan.FromMinutes(1)).WithGrace(5_000), 600_000, 60_000, Topics);
    private static readonly LabelRepartitioner Repartitioner = new(Topics, InMemoryPipeline.Inputs(Codec), Codec);

    [Fact]
    public void A_valid_label_goes_to_the_murmur2_partition_of_its_event_id_with_its_value_timestamp_and_source()
    {
        var value = Codec.Serialize(new Label { EventId = "order-4711", ModelName = "fraud", Value = 1, LabelTimeMs = Now });
        var record = TaskDriver.Record(Topics.Labels, 3, 41, value, Encoding.UTF8.GetBytes("a key that is not the id"));
        record.Message.Timestamp = new Timestamp(Now + 5, TimestampType.CreateTime);

        var (topic, partition, message) = Repartitioner.Route(record);

        var id = Encoding.UTF8.GetBytes("order-4711");
        Assert.Equal(Topics.LabelsById, topic);
        Assert.Equal(Murmur2.Partition(id, Topics.InputPartitions), partition);
        Assert.Equal(id, message.Key);
        Assert.Same(value, message.Value);
        Assert.Equal(Now + 5, message.Timestamp.UnixTimestampMs);
        Assert.Equal((3, 41L), LabelRepartitioner.SourceOf(ById(message, partition!.Value, 0)));
    }

    [Fact]
    public void A_rejected_label_is_dead_lettered_by_the_step_with_its_original_coordinates_and_reason()
    {
        var record = TaskDriver.Record(Topics.Labels, 2, 7, [0xbe, 0xef]);
        record.Message.Timestamp = new Timestamp(Now, TimestampType.CreateTime);
        var expected = InMemoryPipeline.Inputs(Codec).Label(record).Rejection!.ReasonCode;

        var (topic, partition, message) = Repartitioner.Route(record);

        Assert.Equal(Topics.DeadLetter, topic);
        Assert.Null(partition);
        Assert.Equal(DeadLetter.KeyOf(Topics.Labels, 2, 7), message.Key);
        var letter = Codec.Deserialize<DeadLetter>(message.Value);
        Assert.Equal((Topics.Labels, 2, 7L, expected, Now), (letter.SourceTopic, letter.SourcePartition, letter.SourceOffset, letter.ReasonCode, letter.ObservedAtMs));
    }

    [Fact]
    public void A_label_produced_again_after_a_crash_is_dropped_by_the_join_also_after_its_checkpoint()
    {
        // Labels of two source partitions, repartitioned; then source partition 0 is re-read from an older commit.
        var labels = new List<ConsumeResult<byte[], byte[]>>
        {
            Label("a", 1, source: 0, offset: 0),
            Label("b", 0, source: 1, offset: 0),
            Label("a", 0, source: 1, offset: 1),
        };
        var replayed = new List<ConsumeResult<byte[], byte[]>> { Label("a", 1, source: 0, offset: 0), Label("c", 1, source: 0, offset: 1) };

        var clean = Run([.. labels, replayed[^1]], checkpointBefore: null);
        var crashed = Run([.. labels, .. replayed], checkpointBefore: null);
        var restored = Run([.. labels, .. replayed], checkpointBefore: labels.Count);

        Assert.Equal(0, clean.Task.RepartitionDuplicates);
        Assert.Equal(1, crashed.Task.RepartitionDuplicates);
        Assert.Equal(1, restored.Task.RepartitionDuplicates);
        Assert.Equal(Describe(clean.Output), Describe(crashed.Output));
        Assert.Equal(Describe(clean.Output), Describe(restored.Output));

        // The second label of "a" (source partition 1) is the duplicate one, dead-lettered under its source coordinates.
        var letter = Assert.Single(clean.Output.Records, r => r.Topic == Topics.DeadLetter);
        var duplicate = Codec.Deserialize<DeadLetter>(letter.Value);
        Assert.Equal((ReasonCodes.LabelDuplicate, Topics.Labels, 1, 1L), (duplicate.ReasonCode, duplicate.SourceTopic, duplicate.SourcePartition, duplicate.SourceOffset));
        Assert.Equal(1, clean.Task.Duplicates);
    }

    [Fact]
    public void A_join_checkpoint_written_before_the_repartition_step_is_read_with_an_empty_dedupe_table()
    {
        var counters = new long[] { Now, Now - 1, Now - 60_000, Now - 70_000, 1, 2, 3, 4, 5, 6 };
        var version1 = new byte[counters.Length * sizeof(long)];
        Buffer.BlockCopy(counters, 0, version1, 0, version1.Length);

        var task = new QualityJoinTask(Settings, 0, version1, new Dictionary<string, byte[]>(StringComparer.Ordinal), InMemoryPipeline.Inputs(Codec), Codec);

        Assert.Equal((Now, Now - 1, 1L, 2L, 3L, 4L, 5L, 6L, 0L), (task.StreamTime, task.ProgressTime, task.Malformed, task.Late, task.ErrorPredictions, task.Duplicates, task.LabelsUnknown, task.LabelsExpired, task.RepartitionDuplicates));
        var snapshot = task.Snapshot();
        // Written again in the current format: its version byte, then the same ten counters.
        Assert.Equal(QualityChangelogCodec.Instance.Version, snapshot[0]);
        Assert.Equal(version1, snapshot[1..(version1.Length + 1)]);
        Assert.Equal(snapshot, new QualityJoinTask(Settings, 0, snapshot, new Dictionary<string, byte[]>(StringComparer.Ordinal), InMemoryPipeline.Inputs(Codec), Codec).Snapshot());
    }

    private static (QualityJoinTask Task, RecordingOutput Output) Run(List<ConsumeResult<byte[], byte[]>> labels, int? checkpointBefore)
    {
        var output = new RecordingOutput();
        var entries = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        var task = new QualityJoinTask(Settings, 0, null, entries, InMemoryPipeline.Inputs(Codec), Codec);
        long offset = 0;
        foreach (var id in (string[])["a", "b", "c"])
        {
            var prediction = new Prediction { EventId = id, ModelName = "fraud", ModelVersion = "1", EventTimeMs = Now, Status = PredictionStatus.OK, OutputKind = OutputKind.BINARY_PROBABILITY, Score = 0.8 };
            task.Process(TaskDriver.Record(Topics.Predictions, 0, offset++, Codec.Serialize(prediction)), output);
        }

        for (var i = 0; i < labels.Count; i++)
        {
            if (i == checkpointBefore)
            {
                // A restart from a checkpoint: the snapshot and the changelog entries live at it.
                foreach (var (key, value) in task.TakeChanges())
                {
                    if (value is null)
                    {
                        entries.Remove(key);
                    }
                    else
                    {
                        entries[key] = value;
                    }
                }

                task = new QualityJoinTask(Settings, 0, task.Snapshot(), entries, InMemoryPipeline.Inputs(Codec), Codec);
            }

            task.Process(labels[i], output);
        }

        // A prediction far ahead closes the window: every label outcome is in the final partial.
        var sentinel = new Prediction { EventId = "z", ModelName = "fraud", ModelVersion = "1", EventTimeMs = Now + 3_600_000, Status = PredictionStatus.ERROR };
        task.Process(TaskDriver.Record(Topics.Predictions, 0, offset, Codec.Serialize(sentinel)), output);
        return (task, output);
    }

    private static List<string> Describe(RecordingOutput output) =>
        output.Records.Select(r => $"{r.Topic}|{r.Partition}|{Convert.ToHexString(r.Key)}|{Convert.ToHexString(r.Value)}").ToList();

    private static ConsumeResult<byte[], byte[]> Label(string id, double value, int source, long offset)
    {
        var record = TaskDriver.Record(Topics.Labels, source, offset, Codec.Serialize(new Label { EventId = id, ModelName = "fraud", Value = value, LabelTimeMs = Now + 1_000 }));
        var (_, partition, message) = Repartitioner.Route(record);
        return ById(message, partition!.Value, offset);
    }

    private static ConsumeResult<byte[], byte[]> ById(Message<byte[], byte[]> message, int partition, long offset) =>
        new() { Topic = Topics.LabelsById, Partition = partition, Offset = offset, Message = message };
}
