using Confluent.Kafka;
using StreamMonitor.Streams;

namespace StreamMonitor.Testing;

/// <summary>Records every output of a task, as the topics would hold them.</summary>
public sealed class RecordingOutput : ITaskOutput
{
    public List<(string Topic, int? Partition, byte[] Key, byte[] Value)> Records { get; } = [];

    public void Send(string topic, int? partition, byte[] key, byte[] value) => Records.Add((topic, partition, key, value));
}

/// <summary>
/// Drives any <see cref="IPartitionTask"/> of any topology in memory, without Kafka, the way the task runner does:
/// records in offset order, checkpoints (state plus the changelog generation it reflects) at random points, and
/// kill -9s that restart the task from its last checkpoint with outputs after it left on the topics. In the spirit of
/// Kafka Streams' <c>TopologyTestDriver</c>: a topology's exactness under restarts is a unit test.
/// </summary>
public static class TaskDriver
{
    /// <summary>Runs a task without a changelog (see the overload below).</summary>
    public static List<(string Topic, int? Partition, byte[] Key, byte[] Value)> Run(Func<byte[]?, IPartitionTask> create, List<ConsumeResult<byte[], byte[]>> records, Random? crashes) =>
        Run((state, _) => create(state), records, crashes);

    /// <summary>
    /// Runs a task over its records; with <paramref name="crashes"/>, checkpoints at random points and "kills" it up to
    /// three times, restarting from the last checkpoint. An <see cref="IChangelogTask"/> writes its changes to a
    /// simulated changelog partition as the processor does (<see cref="ChangelogPartition"/>); some kills land between
    /// the changelog write and the checkpoint, and a restart sees the changelog compacted or not, as Kafka may.
    /// </summary>
    public static List<(string Topic, int? Partition, byte[] Key, byte[] Value)> Run(Func<byte[]?, IReadOnlyDictionary<string, byte[]>, IPartitionTask> create, List<ConsumeResult<byte[], byte[]>> records, Random? crashes)
    {
        var output = new RecordingOutput();
        var changelogTopic = new List<ChangelogRecord>();
        var changelog = ChangelogPartition.Empty();
        var task = create(null, new Dictionary<string, byte[]>(StringComparer.Ordinal));
        byte[]? checkpointState = null;
        long committed = 0;
        var checkpointOffset = 0;
        var crashesLeft = crashes is null ? 0 : 3;

        void Restart()
        {
            crashesLeft--;
            if (crashes!.Next(2) == 0)
            {
                changelogTopic = LogCompaction.Compact(changelogTopic);
            }

            changelog = ChangelogPartition.Restore(changelogTopic, committed, out var entries, out var cleanup);
            changelogTopic.AddRange(cleanup);
            task = create(checkpointState, entries);
        }

        for (var i = 0; i < records.Count; i++)
        {
            task.Process(records[i], output);
            if (crashes is not null && crashes.NextDouble() < 0.01)
            {
                var generation = changelog.Generation;
                if (task is IChangelogTask stateful)
                {
                    (generation, var written) = changelog.Stage(stateful.TakeChanges());
                    changelogTopic.AddRange(written);
                    if (crashesLeft > 0 && crashes.NextDouble() < 0.2)
                    {
                        // kill -9 after the changelog write, before the checkpoint: that generation never commits.
                        Restart();
                        i = checkpointOffset - 1;
                        continue;
                    }
                }

                checkpointState = task.Snapshot();
                committed = generation;
                checkpointOffset = i + 1;
                changelogTopic.AddRange(changelog.Commit());
            }

            if (crashesLeft > 0 && crashes!.NextDouble() < 0.003)
            {
                // kill -9: outputs after the checkpoint stay on the topics (they were produced), state is lost.
                Restart();
                i = checkpointOffset - 1;
            }
        }

        return output.Records;
    }

    /// <summary>A consumed record as the runner hands it to a task.</summary>
    public static ConsumeResult<byte[], byte[]> Record(string topic, int partition, long offset, byte[] value, byte[]? key = null) => new()
    {
        Topic = topic,
        Partition = partition,
        Offset = offset,
        Message = new Message<byte[], byte[]> { Key = key ?? [], Value = value },
    };
}
