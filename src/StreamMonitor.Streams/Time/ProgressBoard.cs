namespace StreamMonitor.Streams;

/// <summary>
/// The largest stream time this process knows of, from any of its tasks or from watermarks read on the partials
/// topic: the front of the process's lanes, kept lock-free because every processor thread raises it. Idle partitions
/// are judged against it by the one idle rule (<see cref="Contracts.Time.IdleRule"/>). It only ever rises; it is
/// derived from data, never the clock.
/// </summary>
public sealed class ProgressBoard
{
    private long _watermark = long.MinValue;

    /// <summary>Current watermark (long.MinValue before any data).</summary>
    public long Watermark => Interlocked.Read(ref _watermark);

    /// <summary>Raises the watermark to <paramref name="eventTimeMs"/> if it is larger.</summary>
    public void Observe(long eventTimeMs)
    {
        var current = Interlocked.Read(ref _watermark);
        while (eventTimeMs > current)
        {
            var seen = Interlocked.CompareExchange(ref _watermark, eventTimeMs, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }
}
