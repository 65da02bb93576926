using System.IO.Compression;
using System.Text;
using Confluent.Kafka;
using StreamMonitor.Contracts;
using StreamMonitor.Slo;

namespace StreamMonitor.Alerter.Tests;

/// <summary>
/// The alerter's checkpoint records (<see cref="AlerterCheckpointFormat"/>): what it writes restores, a record of the
/// previous release (the same Avro record, its state gzip JSON written by hand here) restores, and a record that is not
/// this evaluator's readable checkpoint stops the restore instead of starting from nothing.
/// </summary>
public sealed class AlerterCheckpointFormatTests
{
    private static readonly EventCodec Codec = new();

    [Fact]
    public void A_checkpoint_round_trips_its_sequence_offsets_and_state()
    {
        var format = new AlerterCheckpointFormat(Codec, "alerter-a");
        var state = new AlerterState { Lanes = new Dictionary<string, long> { ["latency[0]"] = 120_000 }, GroupWatermarksMs = new Dictionary<TickGroup, long> { [TickGroup.Latency] = 60_000 } };
        var value = format.Encode(7, AlerterCheckpointFormat.WriteState(state), [new TopicPartitionOffset("latency", 0, 42), new TopicPartitionOffset("drift", 1, Offset.Beginning)], 1_000);

        var checkpoint = format.Decode(value);
        Assert.Equal(7, checkpoint.Sequence);
        Assert.Equal([("latency", 0, 42L), ("drift", 1, Offset.Beginning.Value)], checkpoint.Offsets.Select(o => (o.Topic, o.Partition, o.Offset)));
        var restored = AlerterCheckpointFormat.ReadState(checkpoint.State);
        Assert.Equal(120_000, restored.Lanes["latency[0]"]);
        Assert.Equal(60_000, restored.GroupWatermarksMs![TickGroup.Latency]);
    }

    [Fact]
    public void A_checkpoint_of_the_previous_release_with_a_single_watermark_restores()
    {
        // The state as the previous release wrote it: gzip JSON with the single cross-partition watermark.
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(Encoding.UTF8.GetBytes("""{"Evaluator":{},"Notifier":{},"Lanes":{"latency[0]":90000},"WatermarkMs":90000}"""));
        }

        var value = Codec.Serialize(new AlerterCheckpoint
        {
            EvaluatorId = "alerter-a", Sequence = 3, WrittenAtMs = 1, StateFormat = "json+gzip/2", State = buffer.ToArray(),
            Offsets = [new CheckpointOffset { Topic = "latency", Partition = 0, Offset = 5 }],
        });

        var format = new AlerterCheckpointFormat(Codec, "alerter-a");
        var state = AlerterCheckpointFormat.ReadState(format.Decode(value).State);
        Assert.Equal(90_000, state.WatermarkMs);
        Assert.Null(state.GroupWatermarksMs);
        Assert.Equal(90_000, state.Lanes["latency[0]"]);
    }

    [Fact]
    public void A_record_of_another_evaluator_or_format_or_not_a_checkpoint_is_refused()
    {
        var state = AlerterCheckpointFormat.WriteState(new AlerterState());
        var other = new AlerterCheckpointFormat(Codec, "alerter-b").Encode(1, state, [], 0);
        var format = new AlerterCheckpointFormat(Codec, "alerter-a");
        Assert.Throws<InvalidDataException>(() => format.Decode(other));
        var oldFormat = Codec.Serialize(new AlerterCheckpoint { EvaluatorId = "alerter-a", StateFormat = "json+gzip/1", State = state });
        Assert.Throws<InvalidDataException>(() => format.Decode(oldFormat));
        Assert.Throws<InvalidDataException>(() => format.Decode([1, 2, 3]));
    }
}
