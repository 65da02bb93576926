namespace StreamMonitor.Contracts;

/// <summary>
/// The end of an event-time window [start, start + size), computed in one place for every stage: exactly, then
/// clamped to the range of <see cref="long"/>. A wrapped sum would put a hostile result's window (a start near
/// <see cref="long.MaxValue"/>, a huge size) in the far past and move a watermark back; a clamped one lies at the end
/// of time.
/// </summary>
public static class WindowTime
{
    /// <summary>
    /// End (exclusive) of the window starting at <paramref name="startMs"/> of <paramref name="sizeMs"/>: their sum,
    /// clamped to [<see cref="long.MinValue"/>, <see cref="long.MaxValue"/>].
    /// </summary>
    public static long End(long startMs, long sizeMs) => Saturating.Add(startMs, sizeMs);

    /// <summary>End (exclusive) of <paramref name="result"/>'s window (<see cref="End"/>).</summary>
    public static long WindowEndMs(this IWindowResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return End(result.WindowStartMs, result.WindowSizeMs);
    }
}
