using System.Globalization;
using Confluent.Kafka;
using StreamMonitor.Contracts;
using StreamMonitor.Kafka;
using StreamMonitor.Kafka.Embedded;
using StreamMonitor.Stack;
using StreamMonitor.Testing;
using Xunit.Abstractions;

namespace StreamMonitor.Scorer.Tests;

/// <summary>
/// /readyz turns 200 only once the scorer's consumer has joined its group. Before, it was ready right after
/// subscribing: the demo started its traffic then, the first events waited in Kafka for the join (1.4 s measured) and
/// came as one backlog batch whose first-batch cost every row carried, which paged the latency SLO at start-up. The
/// cluster refuses every JoinGroup until the test lets it through, so the scorer is, deterministically, up and
/// subscribed but not in its group.
/// </summary>
public sealed class ScorerReadinessTests(EmbeddedKafkaFixture cluster, ITestOutputHelper output) : IClassFixture<EmbeddedKafkaFixture>, IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly string _store = Directory.CreateTempSubdirectory("streammon-readiness-").FullName;

    [Fact]
    public async Task Readyz_waits_for_the_consumer_group_join_and_the_first_event_after_it_is_scored_without_a_queue()
    {
        var model = ScorerHarness.BuildModel(_store, "cancer", "1");
        var options = cluster.CreateOptions();
        var group = "scorer" + options.Topics.Suffix;
        // Far more refusals than the consumer retries within the test: only the clear below lets it join.
        await cluster.Faults.PushRequestErrorsAsync(KafkaApiKey.JoinGroup, Enumerable.Repeat(ErrorCode.GroupLoadInProgress, 10_000));
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{LocalPorts.Free().ToString(CultureInfo.InvariantCulture)}") };
        await using var scorer = ScorerHarness.StartScorerProcess(options, _store, TestOutput.Forward(output), new Dictionary<string, string?> { ["Urls"] = http.BaseAddress.ToString().TrimEnd('/') });

        try
        {
            var joining = $"not ready: joining consumer group {group}";
            await ScorerHarness.WaitForReadinessAsync(http, Timeout, joining);
            // Models loaded and warmed, subscribed: still not ready while the group refuses the join.
            await Task.Delay(TimeSpan.FromSeconds(2));
            using (var still = await http.GetAsync(new Uri("/readyz", UriKind.Relative)))
            {
                Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, still.StatusCode);
                Assert.StartsWith(joining, await still.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            }
        }
        finally
        {
            await cluster.Faults.ClearRequestErrorsAsync(KafkaApiKey.JoinGroup);
        }

        await scorer.WaitForHttpOkAsync(new Uri(http.BaseAddress!, "/readyz"), Timeout);
        using (var producer = ScorerHarness.Producer(options))
        {
            ScorerHarness.Produce(producer, options, ScorerHarness.Event(model, 0));
            producer.Flush(TimeSpan.FromSeconds(10));
        }

        var prediction = Assert.Single(ScorerHarness.Read<Prediction>(options, options.Topics.Predictions, r => r.Count >= 1, Timeout)).Value;
        Assert.Equal(PredictionStatus.OK, prediction.Status);
        // Ready meant consuming: the event was fetched as soon as it was written, not after a group join. (The
        // join alone takes seconds on this cluster; a fetch wait is at most FetchWaitMax, 10 ms, plus scheduling.)
        Assert.True(prediction.Timing.KafkaQueueUs < 1_000_000, $"kafka_queue {prediction.Timing.KafkaQueueUs} us");
    }

    [Fact]
    public async Task A_scorer_the_group_gives_no_partition_is_ready_too()
    {
        ScorerHarness.BuildModel(_store, "cancer", "1");
        var options = cluster.CreateOptions();
        var group = "scorer" + options.Topics.Suffix;
        // One member per partition of the features topic joins first, so the scorer comes to a group with nothing left
        // to give it (cooperative-sticky keeps a balanced assignment): its first assignment is empty.
        var members = Enumerable.Range(0, options.Topics.InputPartitions).Select(i => cluster.CreateConsumer(options, group, $"member-{i}")).ToList();
        using var polling = new CancellationTokenSource();
        var poller = Task.Run(() =>
        {
            members.ForEach(m => m.Subscribe(options.Topics.Features));
            while (!polling.IsCancellationRequested)
            {
                members.ForEach(m => m.Consume(TimeSpan.FromMilliseconds(20)));
            }
        });
        try
        {
            await Poll.UntilAsync(() => members.All(m => m.Assignment.Count == 1), Timeout, () => "every member to own one partition");
            var url = new Uri($"http://127.0.0.1:{LocalPorts.Free().ToString(CultureInfo.InvariantCulture)}");
            await using var scorer = ScorerHarness.StartScorerProcess(options, _store, TestOutput.Forward(output), new Dictionary<string, string?> { ["Urls"] = url.ToString().TrimEnd('/') });
            await scorer.WaitForHttpOkAsync(new Uri(url, "/readyz"), Timeout);
            Assert.All(members, m => Assert.Single(m.Assignment));
        }
        finally
        {
            await polling.CancelAsync();
            await poller;
            members.ForEach(m =>
            {
                m.Close();
                m.Dispose();
            });
        }
    }

    public void Dispose() => Directory.Delete(_store, recursive: true);
}
