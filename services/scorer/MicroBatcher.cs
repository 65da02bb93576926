using StreamMonitor.Contracts;

namespace StreamMonitor.Scorer;

/// <summary>
/// The dispatch rule of a dynamic batcher, on a caller-supplied monotonic clock: a batch leaves as soon as it holds
/// <see cref="MaxRows"/> rows (FULL); a partial batch leaves when nothing more is waiting to join it (DRAIN, with
/// <see cref="DispatchWhenIdle"/>: rows batch up only while the engine is busy) or once its first row has waited the
/// queue delay (DEADLINE). The delay is a cap that never holds back a full batch (Triton's rule). Pure logic, so
/// tests drive it with a fake clock.
/// </summary>
public sealed class MicroBatcher
{
    private long _firstEnqueueTicks;

    /// <summary>Creates a batcher.</summary>
    public MicroBatcher(int maxRows, long queueDelayTicks, bool dispatchWhenIdle = true)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRows, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(queueDelayTicks);
        MaxRows = maxRows;
        QueueDelayTicks = queueDelayTicks;
        DispatchWhenIdle = dispatchWhenIdle;
    }

    /// <summary>A partial batch leaves as soon as no further row is waiting; otherwise it waits for the delay.</summary>
    public bool DispatchWhenIdle { get; }

    /// <summary>True when the caller should only look for rows already waiting (not block for new ones): rows wait
    /// here and would leave at once if none is.</summary>
    public bool WantsOnlyWaitingRows => DispatchWhenIdle && Count > 0;

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

    /// <summary>
    /// Why the partial batch must leave at <paramref name="nowTicks"/>, or null while it waits;
    /// <paramref name="nothingWaiting"/>: the input has no further row ready (the engine would idle).
    /// </summary>
    public DispatchReason? Due(long nowTicks, bool nothingWaiting) =>
        IsDue(nowTicks) ? DispatchReason.DEADLINE : Count > 0 && nothingWaiting && DispatchWhenIdle ? DispatchReason.DRAIN : null;

    /// <summary>Empties the batch after dispatch.</summary>
    public void Reset() => Count = 0;
}
