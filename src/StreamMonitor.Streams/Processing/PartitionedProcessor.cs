using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using StreamMonitor.Kafka;

namespace StreamMonitor.Streams;

/// <summary>Settings of one <see cref="PartitionedProcessor"/>.</summary>
/// <param name="GroupId">Consumer group; also the first component of checkpoint keys.</param>
/// <param name="Topics">Input topics.</param>
/// <param name="CheckpointEveryRecords">Checkpoint after this many records (bounds replay after a crash).</param>
/// <param name="CheckpointInterval">Checkpoint at least this often while records flow (wall clock: affects only how
/// much is replayed after a crash, never a result).</param>
/// <param name="IdleCheckInterval">How often tasks are offered an idle flush; also how often the input lag is reported to <paramref name="Progress"/>.</param>
/// <param name="Progress">Where the loop reports liveness (/healthz: <see cref="ProgressWatchdog"/>); none when null.</param>
public sealed record ProcessorSettings(string GroupId, IReadOnlyList<string> Topics, int CheckpointEveryRecords, TimeSpan CheckpointInterval, TimeSpan IdleCheckInterval, LoopProgress? Progress = null);

/// <summary>
/// Runs one <see cref="IPartitionTask"/> per assigned input partition in a consumer group (cooperative-sticky).
/// On assignment a task is restored from its latest checkpoint and the partition is sought to the checkpoint's
/// offset; on revocation the task is checkpointed and dropped. A checkpoint is written only after every output the
/// task produced before it is acknowledged, so a crash at any point replays from the last checkpoint and re-emits the
/// same keyed outputs (which overwrite). Offsets are also committed to the group, for lag monitoring only: the
/// checkpoint is authoritative.
/// </summary>
public sealed class PartitionedProcessor
{
    private readonly ProcessorSettings _settings;
    private readonly KafkaOptions _kafka;
    private readonly IPartitionTaskFactory _factory;
    private readonly IProducer<byte[], byte[]> _producer;
    private readonly CheckpointStore _store;
    private readonly ProgressBoard _progress;
    private readonly ILogger _logger;
    private readonly Dictionary<TopicPartition, TaskEntry> _tasks = [];
    private readonly ProducerOutput _output;
    private readonly IProcessorMetrics? _metrics;
    private IConsumer<byte[], byte[]>? _consumer;

    /// <summary>Creates a processor; <see cref="Run"/> drives it; <paramref name="metrics"/> (optional) sees its progress.</summary>
    public PartitionedProcessor(ProcessorSettings settings, KafkaOptions kafka, IPartitionTaskFactory factory, IProducer<byte[], byte[]> producer, CheckpointStore store, ProgressBoard progress, ILogger logger, IProcessorMetrics? metrics = null)
    {
        _metrics = metrics;
        _settings = settings;
        _kafka = kafka;
        _factory = factory;
        _producer = producer;
        _store = store;
        _progress = progress;
        _logger = logger;
        _output = new ProducerOutput(producer);
    }

    /// <summary>Partitions currently owned.</summary>
    public int AssignedCount => _tasks.Count;

    /// <summary>Consumes until cancelled, then checkpoints every task and leaves the group.</summary>
    public void Run(CancellationToken cancellationToken)
    {
        var config = KafkaClientConfig.Consumer(_kafka, _settings.GroupId, $"{_settings.GroupId}-{Environment.ProcessId}");

        // End-of-partition events tell a caught-up partition (idle) from one that is only behind (a backlog).
        config.EnablePartitionEof = true;
        using var consumer = new ConsumerBuilder<byte[], byte[]>(config)
            .SetPartitionsAssignedHandler((_, partitions) => OnAssigned(partitions))
            .SetPartitionsRevokedHandler((_, partitions) => OnRevoked(partitions.Select(p => p.TopicPartition)))
            .SetPartitionsLostHandler((_, partitions) => OnLost(partitions.Select(p => p.TopicPartition)))
            .Build();
        _consumer = consumer;
        consumer.Subscribe(_settings.Topics);
        var cadence = new ProcessorCadence(_settings.IdleCheckInterval, _settings.CheckpointEveryRecords, _settings.CheckpointInterval);
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var record = consumer.Consume(TimeSpan.FromMilliseconds(100));
                if (record is { IsPartitionEOF: true } && _tasks.TryGetValue(record.TopicPartition, out var caughtUp))
                {
                    caughtUp.CaughtUp = true;
                }
                else if (record is not null && _tasks.TryGetValue(record.TopicPartition, out var entry))
                {
                    _settings.Progress?.Received();
                    entry.CaughtUp = false;
                    entry.Task.Process(record, _output);
                    entry.NextOffset = record.Offset.Value + 1;
                    entry.Dirty = true;
                    _progress.Observe(entry.Task.ProgressTime);
                    _metrics?.Processed(record.TopicPartition, entry.Task.StreamTime);
                    cadence.Handed(1);
                    _settings.Progress?.Progressed();
                }

                var now = DateTime.UtcNow;
                if (cadence.IdleCheckDue(now))
                {
                    _settings.Progress?.ReportLag(ConsumerLag.Of(consumer));
                    var watermark = _progress.Watermark;

                    // Only partitions that have consumed all of their input: one that is merely behind (racing through
                    // a backlog or a replay) must not be flushed or taken for idle, or results would depend on speed.
                    foreach (var task in _tasks.Values.Where(t => t.CaughtUp))
                    {
                        task.Task.OnIdle(watermark, _output);
                    }
                }

                if (cadence.CheckpointDue(now))
                {
                    CheckpointTasks(_tasks.Values);
                }
            }

            CheckpointTasks(_tasks.Values);
            consumer.Close();
        }
        finally
        {
            _consumer = null;
        }
    }

    private IEnumerable<TopicPartitionOffset> OnAssigned(List<TopicPartition> partitions)
    {
        var result = new List<TopicPartitionOffset>();
        foreach (var partition in partitions)
        {
            var key = CheckpointStore.KeyOf(_settings.GroupId, partition);
            var checkpoint = _store.Load(key, TimeSpan.FromSeconds(30));
            var task = _factory.Create(partition, checkpoint?.State);
            var offset = checkpoint?.NextOffset ?? 0;
            _tasks[partition] = new TaskEntry(task, key, partition) { NextOffset = offset };
            _progress.Observe(task.ProgressTime);
            result.Add(new TopicPartitionOffset(partition, checkpoint is null ? Offset.Beginning : new Offset(offset)));
            _logger.LogInformation("Assigned {Topic}[{Partition}] in {Group}: resuming at offset {Offset} (checkpoint {HasCheckpoint})", partition.Topic, partition.Partition.Value, _settings.GroupId, offset, checkpoint is not null);
        }

        return result;
    }

    private void OnRevoked(IEnumerable<TopicPartition> partitions)
    {
        var revoked = partitions.Where(_tasks.ContainsKey).ToList();
        CheckpointTasks(revoked.Select(p => _tasks[p]));
        foreach (var partition in revoked)
        {
            _tasks.Remove(partition);
            _logger.LogInformation("Revoked {Topic}[{Partition}] from {Group} after checkpointing", partition.Topic, partition.Partition.Value, _settings.GroupId);
        }
    }

    private void OnLost(IEnumerable<TopicPartition> partitions)
    {
        foreach (var partition in partitions)
        {
            // Lost, not revoked: another member may already own it, so its checkpoint must not be overwritten.
            _tasks.Remove(partition);
            _logger.LogWarning("Lost {Topic}[{Partition}] in {Group}; its uncheckpointed progress is dropped and will be replayed by the new owner", partition.Topic, partition.Partition.Value, _settings.GroupId);
        }
    }

    private void CheckpointTasks(IEnumerable<TaskEntry> tasks)
    {
        var dirty = tasks.Where(t => t.Dirty).ToList();
        if (dirty.Count == 0)
        {
            return;
        }

        var written = dirty.Select(entry => (entry.Key, new Checkpoint(entry.NextOffset, entry.Task.Snapshot()))).ToList();
        _output.WriteCheckpoints(_store, written);
        _metrics?.Checkpointed(written.Count);
        var offsets = new List<TopicPartitionOffset>();
        foreach (var entry in dirty)
        {
            entry.Dirty = false;
            offsets.Add(new TopicPartitionOffset(entry.Partition, entry.NextOffset));
        }

        ProcessorCadence.CommitInformational(_consumer, offsets, _logger);
    }

    private sealed class TaskEntry(IPartitionTask task, string key, TopicPartition partition)
    {
        public TopicPartition Partition { get; } = partition;

        public IPartitionTask Task { get; } = task;

        public string Key { get; } = key;

        public long NextOffset { get; set; }

        public bool Dirty { get; set; }

        /// <summary>The consumer reached the end of the partition and no record has arrived since.</summary>
        public bool CaughtUp { get; set; }
    }
}
