using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using StreamMonitor.Kafka;
using StreamMonitor.Streams;
using StreamMonitor.Testing;

namespace StreamMonitor.Streams.Tests;

/// <summary>
/// Task ownership of the <see cref="TaskRunner"/> on the embedded cluster, in both layouts: two members split the tasks,
/// and when one leaves the other takes its tasks over from their checkpoints without reprocessing or skipping a record.
/// Co-partitioned (<see cref="CoPartitionedProcessor"/>, range assignor): every member owns partition p of both topics
/// together. One lane (<see cref="PartitionedProcessor"/>, cooperative-sticky): a task per partition of either topic.
/// </summary>
public sealed class TaskRunnerTests(EmbeddedKafkaFixture kafka) : IClassFixture<EmbeddedKafkaFixture>
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Two_members_split_the_tasks_and_a_survivor_resumes_them_from_their_checkpoints(bool coPartitioned)
    {
        var options = kafka.CreateOptions();
        string[] topics = [options.Topics.Predictions, options.Topics.Labels];
        var seen = new ConcurrentQueue<(string Member, int Task, string Topic, int Partition, long Offset)>();

        // Members in the order they were given tasks: the first batch may be done before the second member joins.
        var created = new ConcurrentQueue<string>();
        using (var producer = kafka.CreateProducer(options))
        {
            for (var i = 0; i < 400; i++)
            {
                var topic = topics[i % 2];
                producer.Produce(new TopicPartition(topic, (i / 2) % options.Topics.InputPartitions), new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes("k"), Value = BitConverter.GetBytes((long)i) });
            }

            producer.Flush(TimeSpan.FromSeconds(30));
        }

        var group = (coPartitioned ? "copart-" : "onelane-") + options.Topics.Suffix.Trim('.');
        Action<CancellationToken> Processor(string member, IProducer<byte[], byte[]> producer, CheckpointStore store) => coPartitioned
            ? new CoPartitionedProcessor(new CoPartitionedSettings(group, topics, 10, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(1), 8), options, new RecordingFactory(member, seen, created), producer, store, new ProgressBoard(), NullLogger.Instance).Run
            : new PartitionedProcessor(new ProcessorSettings(group, topics, 10, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(1)), options, new RecordingFactory(member, seen, created), producer, store, new ProgressBoard(), NullLogger.Instance).Run;
        using var stopA = new CancellationTokenSource();
        using var stopB = new CancellationTokenSource();
        var a = Run("a", options, Processor, stopA.Token);
        await Poll.UntilAsync(() => Owners(seen).Count == 2 * options.Topics.InputPartitions, TimeSpan.FromSeconds(90), () => "member a owns every task");
        var b = Run("b", options, Processor, stopB.Token);
        await Poll.UntilAsync(() => created.Contains("b"), TimeSpan.FromSeconds(90), () => "member b takes tasks");

        // More input after the rebalance, then member b leaves: a takes b's pairs back from their checkpoints.
        using (var producer = kafka.CreateProducer(options))
        {
            for (var i = 400; i < 800; i++)
            {
                producer.Produce(new TopicPartition(topics[i % 2], (i / 2) % options.Topics.InputPartitions), new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes("k"), Value = BitConverter.GetBytes((long)i) });
            }

            producer.Flush(TimeSpan.FromSeconds(30));
        }

        await Poll.UntilAsync(() => seen.Count(s => s.Offset >= 50) >= 400, TimeSpan.FromSeconds(90), () => $"second batch processed ({seen.Count(s => s.Offset >= 50)} of 400; {seen.Count} in all)");
        await stopB.CancelAsync();
        await b;
        using (var producer = kafka.CreateProducer(options))
        {
            for (var i = 800; i < 880; i++)
            {
                producer.Produce(new TopicPartition(topics[i % 2], (i / 2) % options.Topics.InputPartitions), new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes("k"), Value = BitConverter.GetBytes((long)i) });
            }

            producer.Flush(TimeSpan.FromSeconds(30));
        }

        await Poll.UntilAsync(() => seen.Count >= 880, TimeSpan.FromSeconds(90), () => $"every record processed ({seen.Count} of 880)");
        await stopA.CancelAsync();
        await a;

        var records = seen.ToList();

        // Every record went to the task of its own partition (number), and to one task only, once.
        Assert.All(records, r => Assert.Equal(r.Task, r.Partition));
        Assert.Equal(880, records.Select(r => (r.Topic, r.Partition, r.Offset)).Distinct().Count());
        Assert.Equal(880, records.Count);

        // Both members owned tasks; a co-partitioned pair was owned by one member at a time with both topics together.
        Assert.Contains(records, r => r.Member == "b");
        if (!coPartitioned)
        {
            return;
        }

        foreach (var member in new[] { "a", "b" })
        {
            foreach (var task in records.Where(r => r.Member == member).GroupBy(r => r.Task))
            {
                Assert.Equal(2, task.Select(r => r.Topic).Distinct().Count());
            }
        }
    }

    private static Dictionary<(string Topic, int Partition), string> Owners(IEnumerable<(string Member, int Task, string Topic, int Partition, long Offset)> seen) =>
        seen.GroupBy(s => (s.Topic, s.Partition)).ToDictionary(g => g.Key, g => g.Last().Member);

    private Task Run(string member, KafkaOptions options, Func<string, IProducer<byte[], byte[]>, CheckpointStore, Action<CancellationToken>> processor, CancellationToken stop) =>
        Task.Factory.StartNew(
            () =>
            {
                using var producer = kafka.CreateProducer(options, "runner-" + member);
                using var store = new CheckpointStore(options, options.Topics.AggregatorCheckpoints, "runner-" + member);
                processor(member, producer, store)(stop);
            },
            stop,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);

    /// <summary>Tasks that record what they are given; event time = the produced sequence number.</summary>
    private sealed class RecordingFactory(string member, ConcurrentQueue<(string, int, string, int, long)> seen, ConcurrentQueue<string> created) : ICoPartitionedTaskFactory, IPartitionTaskFactory
    {
        public IPartitionTask Create(int partition, byte[]? state, IReadOnlyDictionary<string, byte[]> changelog)
        {
            created.Enqueue(member);
            return new RecordingTask(member, partition, seen, state);
        }

        public IPartitionTask Create(TopicPartition partition, byte[]? state) => Create(partition.Partition.Value, state, new Dictionary<string, byte[]>());

        public long EventTimeOf(int lane, ConsumeResult<byte[], byte[]> record) => BitConverter.ToInt64(record.Message.Value);
    }

    private sealed class RecordingTask(string member, int partition, ConcurrentQueue<(string, int, string, int, long)> seen, byte[]? state) : IPartitionTask
    {
        private long _count = state is null ? 0 : BitConverter.ToInt64(state);

        public long StreamTime { get; private set; } = long.MinValue;

        public void Process(ConsumeResult<byte[], byte[]> record, ITaskOutput output)
        {
            _count++;
            StreamTime = Math.Max(StreamTime, BitConverter.ToInt64(record.Message.Value));
            seen.Enqueue((member, partition, record.Topic, record.Partition.Value, record.Offset.Value));
        }

        public void OnIdle(long watermarkMs, ITaskOutput output)
        {
        }

        public byte[] Snapshot() => BitConverter.GetBytes(_count);

        public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{member}:{partition}:{_count}");
    }
}
