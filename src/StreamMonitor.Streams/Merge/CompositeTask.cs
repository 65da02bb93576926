using Confluent.Kafka;

namespace StreamMonitor.Streams;

/// <summary>
/// Several tasks over one input partition (e.g. latency and score drift over the predictions): each record goes to
/// each task in order; one checkpoint holds every task's state (length-prefixed, in order).
/// </summary>
public sealed class CompositeTask : IPartitionTask
{
    // Version 1 is the layout stored before the header (version 0), behind it.
    private const byte StateVersion = 1;
    private readonly IReadOnlyList<IPartitionTask> _tasks;

    /// <summary>Creates the tasks, each from its slice of <paramref name="state"/> (null: fresh).</summary>
    public CompositeTask(IReadOnlyList<Func<byte[]?, IPartitionTask>> factories, byte[]? state)
    {
        ArgumentNullException.ThrowIfNull(factories);
        var slices = new byte[]?[factories.Count];
        if (state is not null)
        {
            TaskState.Decode(state, StateVersion, (reader, _) =>
            {
                if (reader.ReadInt32() != factories.Count)
                {
                    throw new InvalidDataException($"Checkpoint holds a different number of tasks than the {factories.Count} configured for this partition.");
                }

                for (var i = 0; i < slices.Length; i++)
                {
                    slices[i] = reader.ReadBytes(reader.ReadInt32());
                }
            });
        }

        _tasks = factories.Select((create, i) => create(slices[i])).ToList();
    }

    /// <summary>The tasks, in order.</summary>
    public IReadOnlyList<IPartitionTask> Tasks => _tasks;

    /// <inheritdoc />
    public long StreamTime => _tasks.Max(t => t.StreamTime);

    /// <inheritdoc />
    public long ProgressTime => _tasks.Max(t => t.ProgressTime);

    /// <inheritdoc />
    public void Process(ConsumeResult<byte[], byte[]> record, ITaskOutput output)
    {
        foreach (var task in _tasks)
        {
            task.Process(record, output);
        }
    }

    /// <inheritdoc />
    public void OnIdle(long watermarkMs, ITaskOutput output)
    {
        foreach (var task in _tasks)
        {
            task.OnIdle(watermarkMs, output);
        }
    }

    /// <inheritdoc />
    public byte[] Snapshot() => TaskState.Encode(StateVersion, writer =>
    {
        writer.Write(_tasks.Count);
        foreach (var task in _tasks)
        {
            var state = task.Snapshot();
            writer.Write(state.Length);
            writer.Write(state);
        }
    });
}
