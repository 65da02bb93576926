namespace StreamMonitor.Scorer;

/// <summary>
/// The dispatch rule of a dynamic batcher, on a caller-supplied monotonic clock: a batch leaves as soon as it holds
/// <see cref="MaxRows"/> rows; otherwise once its first row has waited the queue delay. The delay never holds back
/// a full batch (Triton's rule). Pure logic, so tests drive it with a fake clock.
/// </summary>
public sealed class MicroBatcher
{
    private long _firstEnqueueTicks;

    /// <summary>Creates a batcher.</summary>
    public MicroBatcher(int maxRows, long queueDelayTicks)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRows, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(queueDelayTicks);
        MaxRows = maxRows;
        QueueDelayTicks = queueDelayTicks;
    }

    /// <summary>Rows per full batch.</summary>
    public int MaxRows { get; }

    /// <summary>Longest wait of the first row, in clock ticks.</summary>
    public long QueueDelayTicks { get; }

    /// <summary>Rows waiting.</summary>
    public int Count { get; private set; }

    /// <summary>True when the waiting rows make a full batch.</summary>
    public bool IsFull => Count >= MaxRows;

    /// <summary>Clock value at which the waiting rows must leave; <see cref="long.MaxValue"/> when none wait.</summary>
    public long DeadlineTicks => Count == 0 ? long.MaxValue : _firstEnqueueTicks + QueueDelayTicks;

    /// <summary>Admits a row at <paramref name="nowTicks"/> and returns its index in the batch.</summary>
    public int Add(long nowTicks)
    {
        if (IsFull)
        {
            throw new InvalidOperationException("The batch is full: dispatch it before adding rows.");
        }

        if (Count == 0)
        {
            _firstEnqueueTicks = nowTicks;
        }

        return Count++;
    }

    /// <summary>True when waiting rows have reached their deadline at <paramref name="nowTicks"/>.</summary>
    public bool IsDue(long nowTicks) => Count > 0 && nowTicks >= DeadlineTicks;

    /// <summary>Empties the batch after dispatch.</summary>
    public void Reset() => Count = 0;
}
