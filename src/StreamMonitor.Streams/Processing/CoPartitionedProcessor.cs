using System.Buffers.Binary;
using System.Globalization;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using StreamMonitor.Kafka;

namespace StreamMonitor.Streams;

/// <summary>
/// Runs one <see cref="IPartitionTask"/> per partition number p over partition p of every lane topic (co-partitioned:
/// same key, same partition count, same partitioner). The group uses the range assignor, which hands one member the
/// same partition numbers of topics with equal partition counts; an assignment that splits a pair fails the processor.
/// The lanes are merged in event time (<see cref="EventTimeMerge"/>) with bounded buffers (pause/resume). One
/// checkpoint record holds the task state, the next offset of every lane, counting only records handed to the task
/// (buffered ones are re-fetched after a restart), and the changelog generation of an <see cref="IChangelogTask"/>
/// (its changed entries are written to the changelog before the checkpoint; see <see cref="ChangelogPartition"/>). Outputs are flushed before each checkpoint, as in
/// <see cref="PartitionedProcessor"/>. Idle flushes (<see cref="IPartitionTask.OnIdle"/>) are offered only to tasks
/// that are caught up (every lane at partition end, nothing buffered): a task that is merely behind in fetching, as in a
/// catch-up after a restart, must not be moved by the progress of the others.
/// </summary>
public sealed class CoPartitionedProcessor
{
    private const int StateVersion = 2;
    private readonly CoPartitionedSettings _settings;
    private readonly KafkaOptions _kafka;
    private readonly ICoPartitionedTaskFactory _factory;
    private readonly CheckpointStore _store;
    private readonly ProgressBoard _progress;
    private readonly ILogger _logger;
    private readonly SortedDictionary<int, CoPartitionedGroup> _groups = [];
    private readonly Dictionary<string, int> _lanes;
    private readonly ProducerOutput _output;
    private readonly IProcessorMetrics? _metrics;
    private IConsumer<byte[], byte[]>? _consumer;
    private ChangelogReader? _changelogReader;

    /// <summary>Creates a processor; <see cref="Run"/> drives it; <paramref name="metrics"/> (optional) sees its progress.</summary>
    public CoPartitionedProcessor(CoPartitionedSettings settings, KafkaOptions kafka, ICoPartitionedTaskFactory factory, IProducer<byte[], byte[]> producer, CheckpointStore store, ProgressBoard progress, ILogger logger, IProcessorMetrics? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.Topics.Count < 2 || settings.Topics.Distinct(StringComparer.Ordinal).Count() != settings.Topics.Count)
        {
            throw new ArgumentException("A co-partitioned processor needs at least two distinct topics.", nameof(settings));
        }

        _settings = settings;
        _kafka = kafka;
        _factory = factory;
        _store = store;
        _progress = progress;
        _logger = logger;
        _output = new ProducerOutput(producer);
        _metrics = metrics;
        _lanes = settings.Topics.Select((topic, lane) => (topic, lane)).ToDictionary(t => t.topic, t => t.lane, StringComparer.Ordinal);
    }

    /// <summary>Partition numbers currently owned.</summary>
    public int AssignedCount => _groups.Count;

    /// <summary>Checkpoint key of partition number <paramref name="partition"/> of a group over <paramref name="topics"/>.</summary>
    public static string KeyOf(string group, IReadOnlyList<string> topics, int partition)
    {
        ArgumentNullException.ThrowIfNull(topics);
        return string.Create(CultureInfo.InvariantCulture, $"{group}|{string.Join('+', topics)}|{partition}");
    }

    /// <summary>
    /// Encodes a checkpoint of several lanes: the first lane's offset in the record; the rest, then the changelog
    /// generation, before the task state.
    /// </summary>
    public static Checkpoint EncodeCheckpoint(IReadOnlyList<long> nextOffsets, long changelogGeneration, byte[] taskState)
    {
        ArgumentNullException.ThrowIfNull(nextOffsets);
        ArgumentNullException.ThrowIfNull(taskState);
        var header = 16 + (8 * nextOffsets.Count);
        var state = new byte[header + taskState.Length];
        BinaryPrimitives.WriteInt32LittleEndian(state, StateVersion);
        BinaryPrimitives.WriteInt32LittleEndian(state.AsSpan(4), nextOffsets.Count);
        for (var i = 0; i < nextOffsets.Count; i++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(state.AsSpan(8 + (8 * i)), nextOffsets[i]);
        }

        BinaryPrimitives.WriteInt64LittleEndian(state.AsSpan(header - 8), changelogGeneration);
        taskState.CopyTo(state.AsSpan(header));
        return new Checkpoint(nextOffsets[0], state);
    }

    /// <summary>Decodes <see cref="EncodeCheckpoint"/>: the next offset per lane, the changelog generation and the task state.</summary>
    public static (long[] NextOffsets, long ChangelogGeneration, byte[] TaskState) DecodeCheckpoint(Checkpoint checkpoint, int lanes)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        var state = checkpoint.State;
        var header = 16 + (8 * lanes);
        if (state.Length < header || BinaryPrimitives.ReadInt32LittleEndian(state) != StateVersion || BinaryPrimitives.ReadInt32LittleEndian(state.AsSpan(4)) != lanes)
        {
            throw new InvalidDataException($"Not a version-{StateVersion} checkpoint of {lanes} lanes.");
        }

        var offsets = new long[lanes];
        for (var i = 0; i < lanes; i++)
        {
            offsets[i] = BinaryPrimitives.ReadInt64LittleEndian(state.AsSpan(8 + (8 * i)));
        }

        return (offsets, BinaryPrimitives.ReadInt64LittleEndian(state.AsSpan(header - 8)), state[header..]);
    }

    /// <summary>Consumes until cancelled, then checkpoints every task and leaves the group.</summary>
    public void Run(CancellationToken cancellationToken)
    {
        var config = KafkaClientConfig.Consumer(_kafka, _settings.GroupId, $"{_settings.GroupId}-{Environment.ProcessId}");
        config.PartitionAssignmentStrategy = PartitionAssignmentStrategy.Range;
        config.EnablePartitionEof = true;
        using var consumer = new ConsumerBuilder<byte[], byte[]>(config)
            .SetPartitionsAssignedHandler((_, partitions) => OnAssigned(partitions))
            .SetPartitionsRevokedHandler((_, partitions) => OnRevoked(partitions.Select(p => p.TopicPartition)))
            .SetPartitionsLostHandler((_, partitions) => OnLost(partitions.Select(p => p.TopicPartition)))
            .Build();
        _consumer = consumer;
        using var changelogReader = _settings.ChangelogTopic is null ? null : new ChangelogReader(_kafka, $"{_settings.GroupId}-{Environment.ProcessId}");
        _changelogReader = changelogReader;
        consumer.Subscribe(_settings.Topics);
        var cadence = new ProcessorCadence(_settings.IdleCheckInterval, _settings.CheckpointEveryRecords, _settings.CheckpointInterval);
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var record = consumer.Consume(TimeSpan.FromMilliseconds(100));
                if (record is not null && _groups.TryGetValue(record.Partition.Value, out var group) && _lanes.TryGetValue(record.Topic, out var lane))
                {
                    if (record.IsPartitionEOF)
                    {
                        group.EndReported(lane, record.Offset.Value);
                        ConfirmEnds(group);
                    }
                    else if (group.Add(lane, record, _factory.EventTimeOf(lane, record)) && group.Merge.IsFull(lane) && !group.Paused[lane])
                    {
                        consumer.Pause([record.TopicPartition]);
                        group.Paused[lane] = true;
                    }

                    var handed = Drain(group);
                    cadence.Handed(handed);
                    if (handed > 0)
                    {
                        _settings.Progress?.Progressed();
                    }
                }

                var now = DateTime.UtcNow;
                if (cadence.IdleCheckDue(now))
                {
                    _settings.Progress?.ReportLag(ConsumerLag.Of(consumer));
                    var watermark = _progress.Watermark;
                    foreach (var pending in _groups.Values.Where(g => g.EndPending))
                    {
                        ConfirmEnds(pending);
                        cadence.Handed(Drain(pending));
                    }

                    foreach (var idle in _groups.Values.Where(g => g.Merge.CaughtUp))
                    {
                        idle.Task.OnIdle(watermark, _output);
                    }
                }

                if (cadence.CheckpointDue(now))
                {
                    CheckpointGroups(_groups.Values);
                }
            }

            CheckpointGroups(_groups.Values);
            consumer.Close();
        }
        finally
        {
            _consumer = null;
            _changelogReader = null;
        }
    }

    /// <summary>Marks the lanes whose end of partition counts (see <see cref="CoPartitionedSettings.UpstreamCaughtUp"/>).</summary>
    private void ConfirmEnds(CoPartitionedGroup group) => group.ConfirmEnds(
        _settings.UpstreamCaughtUp,
        lane => _consumer!.QueryWatermarkOffsets(new TopicPartition(_settings.Topics[lane], group.Partition), TimeSpan.FromSeconds(10)).High.Value);

    private int Drain(CoPartitionedGroup group)
    {
        var handed = 0;
        while (group.Merge.TryNext(out var lane, out var record))
        {
            group.Task.Process(record, _output);
            _metrics?.Processed(record.TopicPartition, group.Task.StreamTime);
            group.NextOffsets[lane] = record.Offset.Value + 1;
            group.Dirty = true;
            handed++;
        }

        if (handed > 0)
        {
            _progress.Observe(group.Task.ProgressTime);
            for (var lane = 0; lane < group.Paused.Length; lane++)
            {
                if (group.Paused[lane] && group.Merge.HasRoom(lane))
                {
                    _consumer?.Resume([new TopicPartition(_settings.Topics[lane], group.Partition)]);
                    group.Paused[lane] = false;
                }
            }
        }

        return handed;
    }

    private List<TopicPartitionOffset> OnAssigned(List<TopicPartition> partitions)
    {
        var result = new List<TopicPartitionOffset>();
        foreach (var pair in partitions.GroupBy(p => p.Partition.Value).OrderBy(g => g.Key))
        {
            var topics = pair.Select(p => p.Topic).ToHashSet(StringComparer.Ordinal);
            if (!_settings.Topics.All(topics.Contains) || topics.Count != _settings.Topics.Count)
            {
                var message = string.Create(CultureInfo.InvariantCulture, $"Group {_settings.GroupId} assigned partition {pair.Key} of [{string.Join(", ", topics)}] without the same partition of every co-partitioned topic [{string.Join(", ", _settings.Topics)}]: the topics must have equal partition counts and the group must use the range assignor.");
                _logger.LogCritical("{Message}", message);
                throw new InvalidOperationException(message);
            }

            var key = KeyOf(_settings.GroupId, _settings.Topics, pair.Key);
            var checkpoint = _store.Load(key, TimeSpan.FromSeconds(30));
            long[] offsets;
            byte[]? state = null;
            long generation = 0;
            if (checkpoint is null)
            {
                offsets = new long[_settings.Topics.Count];
            }
            else
            {
                (offsets, generation, state) = DecodeCheckpoint(checkpoint, _settings.Topics.Count);
            }

            var (changelog, entries) = RestoreChangelog(pair.Key, generation);
            var task = _factory.Create(pair.Key, state, entries);
            _groups[pair.Key] = new CoPartitionedGroup(task, key, pair.Key, offsets, new EventTimeMerge(_settings.Topics.Count, _settings.LaneCapacity), task is IChangelogTask ? changelog : null);
            _progress.Observe(task.ProgressTime);
            for (var lane = 0; lane < _settings.Topics.Count; lane++)
            {
                var partition = new TopicPartition(_settings.Topics[lane], pair.Key);
                result.Add(new TopicPartitionOffset(partition, checkpoint is null ? Offset.Beginning : new Offset(offsets[lane])));
            }

            _logger.LogInformation("Assigned partition {Partition} of {Topics} in {Group}: resuming at offsets {Offsets} (checkpoint {HasCheckpoint})", pair.Key, string.Join("+", _settings.Topics), _settings.GroupId, string.Join(",", offsets), checkpoint is not null);
        }

        return result;
    }

    /// <summary>The changelog of partition <paramref name="partition"/> at <paramref name="generation"/>; null without a changelog topic.</summary>
    private (ChangelogPartition? Changelog, IReadOnlyDictionary<string, byte[]> Entries) RestoreChangelog(int partition, long generation)
    {
        if (_settings.ChangelogTopic is not { } topic || _changelogReader is null)
        {
            return (null, new Dictionary<string, byte[]>(StringComparer.Ordinal));
        }

        var records = _changelogReader.ReadAll(new TopicPartition(topic, partition), TimeSpan.FromMinutes(2));
        var changelog = ChangelogPartition.Restore(records, generation, out var entries, out var cleanup);
        foreach (var tombstone in cleanup)
        {
            _output.Send(topic, partition, tombstone.Key, null);
        }

        _logger.LogInformation("Restored {Entries} changelog entries of partition {Partition} at generation {Generation} from {Records} records of {Topic}; tombstoning {Garbage} records no restore needs",
            entries.Count, partition, generation, records.Count, topic, cleanup.Count);
        return (changelog, entries);
    }

    private void OnRevoked(IEnumerable<TopicPartition> partitions)
    {
        var revoked = partitions.Select(p => p.Partition.Value).Distinct().Where(_groups.ContainsKey).ToList();
        CheckpointGroups(revoked.Select(p => _groups[p]));
        foreach (var partition in revoked)
        {
            ResumePaused(_groups[partition]);
            _groups.Remove(partition);
            _logger.LogInformation("Revoked partition {Partition} of {Topics} from {Group} after checkpointing", partition, string.Join("+", _settings.Topics), _settings.GroupId);
        }
    }

    private void OnLost(IEnumerable<TopicPartition> partitions)
    {
        foreach (var partition in partitions.Select(p => p.Partition.Value).Distinct())
        {
            // Lost, not revoked: another member may already own it, so its checkpoint must not be overwritten.
            if (_groups.Remove(partition, out var group))
            {
                ResumePaused(group);
                _logger.LogWarning("Lost partition {Partition} of {Topics} in {Group}; its uncheckpointed progress will be replayed by the new owner", partition, string.Join("+", _settings.Topics), _settings.GroupId);
            }
        }
    }

    private void ResumePaused(CoPartitionedGroup group)
    {
        // The client keeps a partition's pause across reassignment: a new owner's fresh merge must find it fetching.
        var paused = Enumerable.Range(0, group.Paused.Length).Where(lane => group.Paused[lane]).Select(lane => new TopicPartition(_settings.Topics[lane], group.Partition)).ToList();
        if (paused.Count == 0)
        {
            return;
        }

        try
        {
            _consumer?.Resume(paused);
        }
        catch (KafkaException ex)
        {
            _logger.LogDebug(ex, "Resuming revoked partitions failed");
        }
    }

    private void CheckpointGroups(IEnumerable<CoPartitionedGroup> groups)
    {
        var dirty = groups.Where(g => g.Dirty).ToList();
        if (dirty.Count == 0)
        {
            return;
        }

        var written = new List<(string Key, Checkpoint Checkpoint)>(dirty.Count);
        foreach (var group in dirty)
        {
            long generation = 0;
            if (group.Changelog is { } changelog)
            {
                // Durable before the checkpoint (WriteCheckpoints flushes every output first).
                (generation, var records) = changelog.Stage(((IChangelogTask)group.Task).TakeChanges());
                foreach (var record in records)
                {
                    _output.Send(_settings.ChangelogTopic!, group.Partition, record.Key, record.Value);
                }
            }

            written.Add((group.Key, EncodeCheckpoint(group.NextOffsets, generation, group.Task.Snapshot())));
        }

        _output.WriteCheckpoints(_store, written);
        _metrics?.Checkpointed(written.Count);
        var offsets = new List<TopicPartitionOffset>();
        foreach (var group in dirty)
        {
            group.Dirty = false;
            // Superseded records are garbage once the checkpoint is durable; a tombstone lost to a crash is found again
            // by the next restore.
            foreach (var tombstone in group.Changelog?.Commit() ?? [])
            {
                _output.Send(_settings.ChangelogTopic!, group.Partition, tombstone.Key, null);
            }

            for (var lane = 0; lane < _settings.Topics.Count; lane++)
            {
                offsets.Add(new TopicPartitionOffset(_settings.Topics[lane], group.Partition, group.NextOffsets[lane]));
            }
        }

        ProcessorCadence.CommitInformational(_consumer, offsets, _logger);
    }
}
