using Confluent.Kafka;
using StreamMonitor.Streams;

namespace StreamMonitor.Streams.Tests;

public class EventTimeMergeTests
{
    private static ConsumeResult<byte[], byte[]> Record(string topic, long offset) => new()
    {
        Topic = topic,
        Partition = 0,
        Offset = offset,
        Message = new Message<byte[], byte[]> { Key = [], Value = [] },
    };

    private static List<(int Lane, long Offset)> DrainAll(EventTimeMerge merge)
    {
        var released = new List<(int, long)>();
        while (merge.TryNext(out var lane, out var record))
        {
            released.Add((lane, record.Offset.Value));
        }

        return released;
    }

    [Fact]
    public void Releases_the_smaller_head_with_predictions_first_on_ties_and_keeps_each_lane_in_order()
    {
        var merge = new EventTimeMerge(2, 100);
        long[] predictions = [10, 30, 20, 50];
        long[] labels = [15, 30, 5, 60];
        for (var i = 0; i < 4; i++)
        {
            merge.Add(0, Record("p", i), predictions[i]);
            merge.Add(1, Record("l", i), labels[i]);
        }

        merge.MarkEnd(0);
        merge.MarkEnd(1);

        // Heads: 10|15 → p0; 30|15 → l0; 30|30 tie → p1; 20|30 → p2; 50|30 → l1; 50|5 → l2; 50|60 → p3; then l3.
        Assert.Equal([(0, 0), (1, 0), (0, 1), (0, 2), (1, 1), (1, 2), (0, 3), (1, 3)], DrainAll(merge));
        Assert.True(merge.CaughtUp);
    }

    [Fact]
    public void An_empty_lane_blocks_until_it_is_at_partition_end_and_a_new_record_clears_the_end()
    {
        var merge = new EventTimeMerge(2, 100);
        merge.Add(0, Record("p", 0), 100);
        merge.Add(0, Record("p", 1), 200);
        Assert.Empty(DrainAll(merge));

        merge.Add(1, Record("l", 0), 150);
        Assert.Equal([(0, 0), (1, 0)], DrainAll(merge));
        Assert.False(merge.CaughtUp);

        merge.MarkEnd(1);
        Assert.Equal([(0, 1)], DrainAll(merge));
        Assert.False(merge.CaughtUp);

        // A label arriving after the end: the lane is live again, so the predictions lane (now empty) blocks it.
        merge.Add(1, Record("l", 1), 50);
        Assert.False(merge.AtEnd(1));
        Assert.Empty(DrainAll(merge));
        merge.MarkEnd(0);
        Assert.Equal([(1, 1)], DrainAll(merge));
    }

    [Fact]
    public void Any_interleaving_of_fetches_gives_the_same_order_when_the_lanes_are_complete()
    {
        var random = new Random(5);
        var lanes = new[] { Enumerable.Range(0, 500).Select(i => (long)(i * 10) + random.Next(-50, 50)).ToArray(), Enumerable.Range(0, 400).Select(i => (long)(i * 12) + random.Next(0, 300)).ToArray() };
        List<(int, long)>? expected = null;
        for (var trial = 0; trial < 20; trial++)
        {
            var merge = new EventTimeMerge(2, 1_000);
            var next = new int[2];
            var released = new List<(int, long)>();
            while (next[0] < lanes[0].Length || next[1] < lanes[1].Length)
            {
                // A random lane delivers a random burst, as fetches do.
                var lane = next[0] == lanes[0].Length ? 1 : next[1] == lanes[1].Length ? 0 : random.Next(2);
                for (var n = random.Next(1, 40); n > 0 && next[lane] < lanes[lane].Length; n--)
                {
                    merge.Add(lane, Record(lane.ToString(System.Globalization.CultureInfo.InvariantCulture), next[lane]), lanes[lane][next[lane]]);
                    next[lane]++;
                }

                if (next[lane] == lanes[lane].Length)
                {
                    merge.MarkEnd(lane);
                }

                released.AddRange(DrainAll(merge));
            }

            Assert.Equal(900, released.Count);
            expected ??= released;
            Assert.Equal(expected, released);
        }
    }

    [Fact]
    public void Refetched_records_are_ignored_and_capacity_signals_pause_and_resume()
    {
        var merge = new EventTimeMerge(2, 4);
        for (var i = 0; i < 4; i++)
        {
            Assert.True(merge.Add(0, Record("p", i), i));
        }

        Assert.True(merge.IsFull(0));
        Assert.False(merge.HasRoom(0));

        // After a pause the client may deliver from its position again: offsets already buffered are dropped.
        Assert.False(merge.Add(0, Record("p", 2), 2));
        Assert.Equal(4, merge.Buffered(0));
        merge.MarkEnd(1);
        Assert.True(merge.TryNext(out _, out _));
        Assert.True(merge.TryNext(out _, out _));
        Assert.True(merge.HasRoom(0));
    }

    [Fact]
    public void Multi_lane_checkpoint_round_trips_offsets_changelog_generation_and_state()
    {
        var checkpoint = CoPartitionedProcessor.EncodeCheckpoint([17, 42], 9, [1, 2, 3]);
        var decoded = CheckpointStore.Decode(CheckpointStore.Encode(checkpoint));
        var (offsets, generation, state) = CoPartitionedProcessor.DecodeCheckpoint(decoded, 2);
        Assert.Equal([17L, 42L], offsets);
        Assert.Equal(9, generation);
        Assert.Equal([(byte)1, 2, 3], state);
        Assert.Throws<InvalidDataException>(() => CoPartitionedProcessor.DecodeCheckpoint(decoded, 3));
    }
}
