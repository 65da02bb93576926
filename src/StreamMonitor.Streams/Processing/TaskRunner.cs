using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using StreamMonitor.Kafka;

namespace StreamMonitor.Streams;

/// <summary>What every configuration of a <see cref="TaskRunner"/> sets (see <see cref="CoPartitionedSettings"/>).</summary>
/// <param name="GroupId">Consumer group; also the first component of checkpoint keys.</param>
/// <param name="Topics">Input topics.</param>
/// <param name="CheckpointEveryRecords">Checkpoint after this many records handed to tasks.</param>
/// <param name="CheckpointInterval">Checkpoint at least this often while records flow (bounds replay only).</param>
/// <param name="IdleCheckInterval">How often caught-up tasks are offered an idle flush and the lag is reported.</param>
/// <param name="ChangelogTopic">Compacted topic holding the state of <see cref="IChangelogTask"/>s; null: none.</param>
/// <param name="Progress">Where the loop reports liveness; none when null.</param>
/// <param name="UpstreamCaughtUp">See <see cref="CoPartitionedSettings.UpstreamCaughtUp"/>; null: ends count at once.</param>
public sealed record RunnerSettings(string GroupId, IReadOnlyList<string> Topics, int CheckpointEveryRecords, TimeSpan CheckpointInterval, TimeSpan IdleCheckInterval, string? ChangelogTopic, LoopProgress? Progress, Func<int, bool>? UpstreamCaughtUp);

/// <summary>
/// The one consume-process-checkpoint-commit cycle of a consumer group's tasks, each task over 1..N lanes (input
/// partitions; <see cref="ILaneLayout"/> says which). On assignment a task is restored from its latest checkpoint and
/// its lanes are sought to the checkpoint's offsets; on revocation it is checkpointed and dropped; a lost task is
/// dropped without a checkpoint (another member may own it already). The lanes of a task are merged in event time
/// (<see cref="EventTimeMerge"/>) with bounded buffers (pause/resume); a task's checkpoint holds its state, the next
/// offset of every lane counting only records handed to the task (buffered ones are re-fetched after a restart), and
/// the changelog generation of an <see cref="IChangelogTask"/> (its changed entries are written to the changelog
/// before the checkpoint; see <see cref="ChangelogPartition"/>). A checkpoint is written only after every output the
/// task produced before it is acknowledged, so a crash at any point replays from the last checkpoint and re-emits the
/// same keyed outputs (which overwrite). Offsets are then committed to the group, for lag monitoring only: the
/// checkpoint is authoritative. Idle flushes (<see cref="IPartitionTask.OnIdle"/>) are offered only to tasks that are
/// caught up (every lane at partition end, nothing buffered): a task that is merely behind, racing through a backlog
/// or a replay, must not be flushed or taken for idle, or results would depend on speed. A task may ask for a checkpoint
/// at once (<see cref="IPartitionTask.CheckpointDue"/>).
/// </summary>
/// <param name="settings">The cycle's settings.</param>
/// <param name="layout">How partitions form tasks and what their checkpoints hold.</param>
/// <param name="kafka">Cluster options.</param>
/// <param name="producer">Produces outputs, changelogs and checkpoints.</param>
/// <param name="store">The checkpoint topic.</param>
/// <param name="progress">Where tasks report their progress (<see cref="IPartitionTask.ProgressTime"/>).</param>
/// <param name="logger">Logs the cycle.</param>
/// <param name="metrics">Sees the progress; none when null.</param>
public sealed class TaskRunner(RunnerSettings settings, ILaneLayout layout, KafkaOptions kafka, IProducer<byte[], byte[]> producer, CheckpointStore store, ProgressBoard progress, ILogger logger, IProcessorMetrics? metrics = null)
{
    private readonly Dictionary<string, TaskLanes> _tasks = new(StringComparer.Ordinal);
    private readonly Dictionary<TopicPartition, (TaskLanes Task, int Lane)> _lanes = [];
    private readonly ProducerOutput _output = new(producer);
    private IConsumer<byte[], byte[]>? _consumer;
    private ChangelogReader? _changelogReader;

    /// <summary>Tasks currently owned.</summary>
    public int AssignedCount => _tasks.Count;

    /// <summary>Consumes until cancelled, then checkpoints every task and leaves the group.</summary>
    public void Run(CancellationToken cancellationToken)
    {
        var config = KafkaClientConfig.Consumer(kafka, settings.GroupId, $"{settings.GroupId}-{Environment.ProcessId}");
        config.PartitionAssignmentStrategy = layout.Assignor;

        // End-of-partition events tell a caught-up partition (idle) from one that is only behind (a backlog).
        config.EnablePartitionEof = true;
        using var consumer = new ConsumerBuilder<byte[], byte[]>(config)
            .SetPartitionsAssignedHandler((_, partitions) => OnAssigned(partitions))
            .SetPartitionsRevokedHandler((_, partitions) => OnRevoked(partitions.Select(p => p.TopicPartition)))
            .SetPartitionsLostHandler((_, partitions) => OnLost(partitions.Select(p => p.TopicPartition)))
            .Build();
        _consumer = consumer;
        using var changelogReader = settings.ChangelogTopic is null ? null : new ChangelogReader(kafka, $"{settings.GroupId}-{Environment.ProcessId}");
        _changelogReader = changelogReader;
        if (layout.Assignment is { } assignment)
        {
            consumer.Assign(OnAssigned([.. assignment]));
        }
        else
        {
            consumer.Subscribe(settings.Topics);
        }

        var cadence = new ProcessorCadence(settings.IdleCheckInterval, settings.CheckpointEveryRecords, settings.CheckpointInterval);
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var record = consumer.Consume(TimeSpan.FromMilliseconds(100));
                if (record is not null && _lanes.TryGetValue(record.TopicPartition, out var at))
                {
                    var task = at.Task;
                    if (record.IsPartitionEOF)
                    {
                        task.EndReported(at.Lane, record.Offset.Value);
                        ConfirmEnds(task);
                    }
                    else if (task.Add(at.Lane, record, layout.MergesByEventTime ? layout.EventTimeOf(at.Lane, record) : 0) && task.IsFull(at.Lane) && !task.Paused[at.Lane])
                    {
                        consumer.Pause([record.TopicPartition]);
                        task.Paused[at.Lane] = true;
                    }

                    cadence.Handed(Drain(task));
                }

                var now = DateTime.UtcNow;
                if (cadence.IdleCheckDue(now))
                {
                    settings.Progress?.ReportLag(ConsumerLag.Of(consumer));
                    var watermark = progress.Watermark;
                    foreach (var pending in _tasks.Values.Where(t => t.EndPending))
                    {
                        ConfirmEnds(pending);
                        cadence.Handed(Drain(pending));
                    }

                    foreach (var idle in _tasks.Values.Where(t => t.CaughtUp))
                    {
                        idle.Task.OnIdle(watermark, _output);
                    }
                }

                if (cadence.CheckpointDue(now))
                {
                    Checkpoint(_tasks.Values);
                }
                else if (_tasks.Values.Any(t => t.Task.CheckpointDue))
                {
                    Checkpoint(_tasks.Values.Where(t => t.Task.CheckpointDue));
                }
            }

            Checkpoint(_tasks.Values);
            consumer.Close();
        }
        finally
        {
            _consumer = null;
            _changelogReader = null;
        }
    }

    /// <summary>Marks the lanes whose end of partition counts (see <see cref="CoPartitionedSettings.UpstreamCaughtUp"/>).</summary>
    private void ConfirmEnds(TaskLanes task) => task.ConfirmEnds(
        settings.UpstreamCaughtUp,
        lane => _consumer!.QueryWatermarkOffsets(task.Lanes[lane], TimeSpan.FromSeconds(10)).High.Value,
        lane => task.Task.OnLaneEnd(task.Lanes[lane], _output));

    /// <summary>Hands the task every record its merge releases; the number handed.</summary>
    private int Drain(TaskLanes task)
    {
        var handed = 0;
        while (task.TryNext(out var lane, out var record))
        {
            // Held input until the loop reports progress: a task stuck in Process shows as stalled on /healthz.
            settings.Progress?.Received();
            task.Task.Process(record, _output);
            metrics?.Processed(record.TopicPartition, task.Task.StreamTime);
            task.NextOffsets[lane] = record.Offset.Value + 1;
            task.Dirty = true;
            handed++;
        }

        if (handed == 0)
        {
            return 0;
        }

        progress.Observe(task.Task.ProgressTime);
        for (var lane = 0; lane < task.Paused.Length; lane++)
        {
            if (task.Paused[lane] && task.HasRoom(lane))
            {
                _consumer?.Resume([task.Lanes[lane]]);
                task.Paused[lane] = false;
            }
        }

        settings.Progress?.Progressed();
        return handed;
    }

    private List<TopicPartitionOffset> OnAssigned(List<TopicPartition> partitions)
    {
        var result = new List<TopicPartitionOffset>();
        foreach (var (key, lanes) in layout.TasksOf(partitions))
        {
            var checkpoint = store.LoadValue(key, TimeSpan.FromSeconds(30));
            long[] offsets;
            byte[]? state = null;
            long generation = 0;
            if (checkpoint is null)
            {
                offsets = new long[lanes.Length];
            }
            else
            {
                (offsets, generation, state) = layout.Decode(checkpoint, lanes);
            }

            var (changelog, entries) = RestoreChangelog(lanes[0].Partition.Value, generation);
            var task = layout.Create(lanes, state, entries);
            var owned = new TaskLanes(task, key, lanes, offsets, layout.MergesByEventTime ? new EventTimeMerge(lanes.Length, layout.LaneCapacity) : null, task is IChangelogTask ? changelog : null);
            _tasks[key] = owned;
            for (var lane = 0; lane < lanes.Length; lane++)
            {
                _lanes[lanes[lane]] = (owned, lane);
                result.Add(new TopicPartitionOffset(lanes[lane], checkpoint is null ? Offset.Beginning : new Offset(offsets[lane])));
            }

            progress.Observe(task.ProgressTime);
            logger.LogInformation("Assigned {Task} in {Group}: resuming at offsets {Offsets} (checkpoint {HasCheckpoint})", owned.Name, settings.GroupId, string.Join(",", offsets), checkpoint is not null);
        }

        return result;
    }

    /// <summary>The changelog of partition <paramref name="partition"/> at <paramref name="generation"/>; null without a changelog topic.</summary>
    private (ChangelogPartition? Changelog, IReadOnlyDictionary<string, byte[]> Entries) RestoreChangelog(int partition, long generation)
    {
        if (settings.ChangelogTopic is not { } topic || _changelogReader is null)
        {
            return (null, new Dictionary<string, byte[]>(StringComparer.Ordinal));
        }

        var records = _changelogReader.ReadAll(new TopicPartition(topic, partition), TimeSpan.FromMinutes(2));
        var changelog = ChangelogPartition.Restore(records, generation, out var entries, out var cleanup);
        foreach (var tombstone in cleanup)
        {
            _output.Send(topic, partition, tombstone.Key, null);
        }

        logger.LogInformation("Restored {Entries} changelog entries of partition {Partition} at generation {Generation} from {Records} records of {Topic}; tombstoning {Garbage} records no restore needs",
            entries.Count, partition, generation, records.Count, topic, cleanup.Count);
        return (changelog, entries);
    }

    private void OnRevoked(IEnumerable<TopicPartition> partitions)
    {
        var revoked = TasksOf(partitions);
        Checkpoint(revoked);
        foreach (var task in revoked)
        {
            Drop(task);
            logger.LogInformation("Revoked {Task} from {Group} after checkpointing", task.Name, settings.GroupId);
        }
    }

    private void OnLost(IEnumerable<TopicPartition> partitions)
    {
        foreach (var task in TasksOf(partitions))
        {
            // Lost, not revoked: another member may already own it, so its checkpoint must not be overwritten.
            Drop(task);
            logger.LogWarning("Lost {Task} in {Group}; its uncheckpointed progress is dropped and will be replayed by the new owner", task.Name, settings.GroupId);
        }
    }

    /// <summary>The owned tasks with a lane among <paramref name="partitions"/>, each once.</summary>
    private List<TaskLanes> TasksOf(IEnumerable<TopicPartition> partitions) =>
        partitions.Select(p => _lanes.TryGetValue(p, out var at) ? at.Task : null).OfType<TaskLanes>().Distinct().ToList();

    private void Drop(TaskLanes task)
    {
        _tasks.Remove(task.Key);
        foreach (var lane in task.Lanes)
        {
            _lanes.Remove(lane);
        }

        // The client keeps a partition's pause across reassignment: a new owner's fresh merge must find it fetching.
        var paused = Enumerable.Range(0, task.Paused.Length).Where(lane => task.Paused[lane]).Select(lane => task.Lanes[lane]).ToList();
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
            logger.LogDebug(ex, "Resuming revoked partitions failed");
        }
    }

    private void Checkpoint(IEnumerable<TaskLanes> tasks)
    {
        var dirty = tasks.Where(t => t.Dirty || t.Task.CheckpointDue).ToList();
        if (dirty.Count == 0)
        {
            return;
        }

        var written = new List<(string Key, byte[] Value)>(dirty.Count);
        foreach (var task in dirty)
        {
            long generation = 0;
            if (task.Changelog is { } changelog)
            {
                // Durable before the checkpoint (WriteCheckpoints flushes every output first).
                (generation, var records) = changelog.Stage(((IChangelogTask)task.Task).TakeChanges());
                foreach (var record in records)
                {
                    _output.Send(settings.ChangelogTopic!, task.Partition, record.Key, record.Value);
                }
            }

            written.Add((task.Key, layout.Encode(task.Lanes, task.NextOffsets, generation, task.Task.Snapshot())));
        }

        _output.WriteCheckpoints(store, written);
        metrics?.Checkpointed(written.Count);
        var offsets = new List<TopicPartitionOffset>();
        foreach (var task in dirty)
        {
            task.Dirty = false;
            task.Task.OnCheckpointed();

            // Superseded records are garbage once the checkpoint is durable; a tombstone lost to a crash is found again
            // by the next restore.
            foreach (var tombstone in task.Changelog?.Commit() ?? [])
            {
                _output.Send(settings.ChangelogTopic!, task.Partition, tombstone.Key, null);
            }

            offsets.AddRange(task.Lanes.Select((lane, i) => new TopicPartitionOffset(lane, task.NextOffsets[i])));
        }

        ProcessorCadence.CommitInformational(_consumer, offsets, logger);
    }
}
