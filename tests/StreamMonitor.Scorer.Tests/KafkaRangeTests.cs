using System.Text;
using Confluent.Kafka;
using StreamMonitor.Models.Batch;
using StreamMonitor.Testing;

namespace StreamMonitor.Scorer.Tests;

/// <summary>
/// The batch reader returns every record of the requested ranges exactly once, for ranges computed the way the
/// backfill bench and <c>streammon score --input-topic</c> compute them (watermarks, and the record-timestamp search).
/// </summary>
public sealed class KafkaRangeTests(EmbeddedKafkaFixture cluster) : IClassFixture<EmbeddedKafkaFixture>, IDisposable
{
    private const int Events = 2_000;
    private const long BaseTimeMs = 1_700_000_000_000;
    private readonly string _store = Directory.CreateTempSubdirectory("streammon-range-").FullName;

    [Fact]
    public async Task Reads_every_event_of_offset_and_event_time_ranges_exactly_once()
    {
        var model = ScorerHarness.BuildModel(_store, "cancer", "1");
        var options = cluster.CreateOptions();
        using (var producer = ScorerHarness.Producer(options))
        {
            for (var i = 0; i < Events; i++)
            {
                var featureEvent = ScorerHarness.Event(model, i);
                featureEvent.EventTimeMs = BaseTimeMs + (i * 10L);
                producer.Produce(options.Topics.Features, new Message<byte[], byte[]>
                {
                    Key = Encoding.UTF8.GetBytes(featureEvent.EventId),
                    Value = ScorerHarness.Codec.Serialize(featureEvent),
                    Timestamp = new Timestamp(featureEvent.EventTimeMs, TimestampType.CreateTime),
                });
            }

            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
        }

        using var range = new KafkaRange(options, options.Topics.Features);
        var partitions = range.Partitions();
        Assert.Equal(4, partitions.Count);

        // Whole topic, low to high watermark (the bench and the CLI's defaults).
        var whole = partitions.Select(p => { var m = range.Watermarks(p); return new PartitionRange(p, m.Low.Value, m.High.Value); }).ToList();
        Assert.All(whole, r => Assert.True(r.Count > 0, $"partition {r.Partition} is empty"));
        Assert.Equal(Events, whole.Sum(r => r.Count));
        await AssertReadsExactlyAsync(range, whole, Enumerable.Range(0, Events));

        // Event-time range [t(500), t(1500)) through the timestamp search, on the same reader (Assign/Unassign in
        // the search, then the read).
        var fromMs = BaseTimeMs + (500 * 10L);
        var toMs = BaseTimeMs + (1_500 * 10L);
        var timed = partitions.Select(p => new PartitionRange(p, range.OffsetForTime(p, fromMs), range.OffsetForTime(p, toMs))).ToList();
        await AssertReadsExactlyAsync(range, timed, Enumerable.Range(500, 1_000));

        // Offset sub-ranges that end mid-partition, read a second time on the same reader.
        var halves = whole.Select(r => new PartitionRange(r.Partition, r.From, r.From + (r.Count / 2))).ToList();
        var firstHalf = new List<string>();
        await foreach (var input in range.ReadAsync(halves))
        {
            firstHalf.Add(input.FallbackId);
        }

        Assert.Equal(halves.Sum(r => r.Count), firstHalf.Count);
        Assert.Equal(firstHalf.Count, firstHalf.Distinct().Count());
    }

    public void Dispose() => Directory.Delete(_store, true);

    private static async Task AssertReadsExactlyAsync(KafkaRange range, IReadOnlyList<PartitionRange> ranges, IEnumerable<int> expected)
    {
        var read = new List<string>();
        await foreach (var input in range.ReadAsync(ranges))
        {
            Assert.NotNull(input.Event);
            read.Add(input.Event!.EventId);
        }

        var duplicates = read.GroupBy(id => id).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.Empty(duplicates);
        var expectedIds = expected.Select(i => "e-" + i.ToString("D6", System.Globalization.CultureInfo.InvariantCulture)).ToHashSet();
        Assert.Empty(expectedIds.Except(read));
        Assert.Empty(read.Except(expectedIds));
    }
}
