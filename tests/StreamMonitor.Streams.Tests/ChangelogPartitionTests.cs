using System.Text;
using StreamMonitor.Testing;

namespace StreamMonitor.Streams.Tests;

/// <summary>
/// The changelog protocol (<see cref="ChangelogPartition"/>) against a simulated compacted partition: a restore yields
/// exactly the entries of the committed checkpoint, whatever a crashed instance wrote after it and whether or not
/// compaction has run; the partition holds no more than the live entries once clean-up and compaction have run.
/// </summary>
public sealed class ChangelogPartitionTests
{
    private static KeyValuePair<string, byte[]?> Put(string key, string value) => new(key, Encoding.UTF8.GetBytes(value));

    private static KeyValuePair<string, byte[]?> Delete(string key) => new(key, null);

    private static Dictionary<string, string> Text(Dictionary<string, byte[]> entries) =>
        entries.ToDictionary(e => e.Key, e => Encoding.UTF8.GetString(e.Value), StringComparer.Ordinal);

    private static long Checkpoint(ChangelogPartition changelog, List<ChangelogRecord> topic, params KeyValuePair<string, byte[]?>[] changes)
    {
        var (generation, records) = changelog.Stage(changes);
        topic.AddRange(records);
        topic.AddRange(changelog.Commit());
        return generation;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_restore_ignores_what_a_crashed_instance_wrote_after_its_last_checkpoint(bool compacted)
    {
        var topic = new List<ChangelogRecord>();
        var changelog = ChangelogPartition.Empty();
        Checkpoint(changelog, topic, Put("a", "a1"), Put("b", "b1"), Put("c", "c1"));
        var committed = Checkpoint(changelog, topic, Put("a", "a2"), Delete("c"));

        // Generation 3 reaches the changelog; the process dies before its checkpoint record is written.
        var (_, uncommitted) = changelog.Stage([Put("a", "a3"), Delete("b"), Put("d", "d3")]);
        topic.AddRange(uncommitted);

        var restored = ChangelogPartition.Restore(compacted ? LogCompaction.Compact(topic) : topic, committed, out var entries, out var cleanup);

        Assert.Equal(new Dictionary<string, string> { ["a"] = "a2", ["b"] = "b1" }, Text(entries));
        Assert.Equal(committed, restored.Generation);
        // The uncommitted records are tombstoned; so are leftovers of the committed past, if compaction has not run.
        Assert.Equal(3, cleanup.Count(c => ChangelogPartition.DecodeKey(c.Key).Generation == committed + 1));
        Assert.All(cleanup, c => Assert.Null(c.Value));
    }

    [Fact]
    public void Entries_created_and_deleted_between_two_checkpoints_are_never_written()
    {
        var changelog = ChangelogPartition.Empty();
        var (_, records) = changelog.Stage([Put("kept", "1"), Delete("never-written")]);
        Assert.Single(records);
        Assert.Equal("kept", ChangelogPartition.DecodeKey(records[0].Key).Key);
    }

    [Fact]
    public void After_clean_up_and_compaction_the_partition_holds_exactly_the_live_entries_and_restores_them()
    {
        var random = new Random(7);
        var topic = new List<ChangelogRecord>();
        var changelog = ChangelogPartition.Empty();
        var model = new Dictionary<string, string>(StringComparer.Ordinal);
        long committed = 0;
        for (var checkpoint = 0; checkpoint < 200; checkpoint++)
        {
            var changes = new Dictionary<string, byte[]?>(StringComparer.Ordinal);
            for (var n = random.Next(1, 30); n > 0; n--)
            {
                var key = "k" + random.Next(100);
                if (random.NextDouble() < 0.4)
                {
                    changes[key] = null;
                    model.Remove(key);
                }
                else
                {
                    var value = $"{key}@{checkpoint}.{n}";
                    changes[key] = Encoding.UTF8.GetBytes(value);
                    model[key] = value;
                }
            }

            committed = Checkpoint(changelog, topic, [.. changes]);
            if (random.NextDouble() < 0.1)
            {
                topic = LogCompaction.Compact(topic);
            }
        }

        topic = LogCompaction.Compact(topic);
        Assert.Equal(model.Count, topic.Count);
        Assert.Equal(model.Count, changelog.LiveEntries);
        ChangelogPartition.Restore(topic, committed, out var entries, out var cleanup);
        Assert.Equal(model, Text(entries));
        Assert.Empty(cleanup);
    }

    [Fact]
    public void Keys_carry_the_generation_so_compaction_never_merges_two_generations_of_an_entry()
    {
        var key = ChangelogPartition.EncodeKey("P|event-1", 42);
        Assert.Equal(("P|event-1", 42L), ChangelogPartition.DecodeKey(key));
        Assert.NotEqual(Convert.ToHexString(key), Convert.ToHexString(ChangelogPartition.EncodeKey("P|event-1", 43)));
        Assert.Throws<InvalidDataException>(() => ChangelogPartition.DecodeKey([1, 2]));
    }

    [Fact]
    public void A_record_of_a_frame_this_release_never_wrote_is_refused_not_taken_for_a_deletion()
    {
        var topic = new List<ChangelogRecord>();
        var changelog = ChangelogPartition.Empty();
        var generation = Checkpoint(changelog, topic, Put("a", "a1"), Put("b", "b1"));
        Assert.Equal("016131", Convert.ToHexString(topic.Single(r => ChangelogPartition.DecodeKey(r.Key).Key == "a").Value!));
        ChangelogPartition.Restore(topic, generation, out var entries, out _);
        Assert.Equal("a1", Text(entries)["a"]);

        topic.Add(new ChangelogRecord(ChangelogPartition.EncodeKey("a", generation + 1), [2, 0x61]));
        Assert.Throws<InvalidDataException>(() => ChangelogPartition.Restore(topic, generation + 1, out _, out _));
        topic[^1] = new ChangelogRecord(ChangelogPartition.EncodeKey("a", generation + 1), []);
        Assert.Throws<InvalidDataException>(() => ChangelogPartition.Restore(topic, generation + 1, out _, out _));
    }
}
