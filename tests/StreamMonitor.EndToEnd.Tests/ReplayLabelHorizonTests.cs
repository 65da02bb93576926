using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using StreamMonitor.Contracts;
using StreamMonitor.Kafka;
using StreamMonitor.Replay;
using StreamMonitor.Testing;

namespace StreamMonitor.EndToEnd.Tests;

/// <summary>
/// `streammon replay --to T` keeps the late labels of the range's events: labels arriving after T, up to the label
/// horizon, are copied when they label an event of the range, and only then.
/// </summary>
public sealed class ReplayLabelHorizonTests(EmbeddedKafkaFixture cluster) : IClassFixture<EmbeddedKafkaFixture>
{
    private const long From = 1_796_000_000_000;
    private const long To = From + 3_600_000;
    private static readonly TimeSpan Horizon = TimeSpan.FromHours(6);

    [Fact]
    public async Task Labels_after_the_range_end_are_copied_for_the_ranges_events_within_the_horizon()
    {
        var live = cluster.CreateOptions();
        var replay = ReplayRunner.ReplayKafka(live, live.Topics.Suffix + ".replay");
        cluster.Faults.CreateTopics(replay.Topics.All);
        var features = new (string Id, long Time)[] { ("in-1", From + 10), ("in-2", To - 1), ("before", From - 1), ("after", To) };
        foreach (var (id, time) in features)
        {
            await Produce(live, live.Topics.Features, id, new FeatureEvent { EventId = id, ModelName = "m", EventTimeMs = time });
        }

        var labels = new (string Id, long Time, bool Copied)[]
        {
            ("in-1", From + 20, true),                                        // inside the range
            ("in-1", To + 60_000, true),                                      // late label of a range event
            ("in-2", To + (long)Horizon.TotalMilliseconds - 1, true),         // just within the horizon
            ("in-2", To + (long)Horizon.TotalMilliseconds, false),            // past the horizon
            ("after", To + 1, false),                                         // late label of an event after the range
            ("before", To + 5, false),                                        // late label of an event before the range
            ("unknown", To + 7, false),                                       // late label of no event at all
        };
        foreach (var (id, time, _) in labels)
        {
            await Produce(live, live.Topics.Labels, id, new Label { EventId = id, ModelName = "m", Value = 1, LabelTimeMs = time });
        }

        var copies = await new RangeCopier(live, replay, NullLogger.Instance).CopyAsync(From, To, Horizon, TimeSpan.FromMinutes(1), includePredictions: false, null, CancellationToken.None);

        var copied = (await cluster.ConsumeAllAsync<Label>(replay.Topics.Labels, TimeSpan.FromSeconds(20))).Select(l => (l.Value.EventId, l.Value.LabelTimeMs)).Order().ToList();
        Assert.Equal(labels.Where(l => l.Copied).Select(l => (l.Id, l.Time)).Order().ToList(), copied);
        Assert.Equal(2, copies.Where(c => c.TargetTopic == replay.Topics.Labels).Sum(c => c.LateLabels));
        var copiedFeatures = (await cluster.ConsumeAllAsync<FeatureEvent>(replay.Topics.Features, TimeSpan.FromSeconds(20))).Select(f => f.Value.EventId).Order().ToList();
        Assert.Equal(["in-1", "in-2"], copiedFeatures);
    }

    private async Task Produce<T>(KafkaOptions options, string topic, string key, T value)
        where T : class
    {
        // One partition for everything: the copy keeps per-partition order, and the late labels follow their events.
        using var producer = cluster.CreateProducer(options);
        await producer.ProduceAsync(new TopicPartition(topic, 0), EventMessages.Create(cluster.Codec, key, value));
    }
}
