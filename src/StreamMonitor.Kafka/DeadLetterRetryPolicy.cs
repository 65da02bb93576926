namespace StreamMonitor.Kafka;

/// <summary>How often and how soon a dead letter that could not be written is tried again.</summary>
/// <param name="MaxAttempts">Attempts per dead letter in this process (the first included); afterwards it is given up
/// on here, still blocks its source offset, and is written again when its record is re-processed after a restart.</param>
/// <param name="InitialBackoff">Wait before the second attempt; doubles per attempt.</param>
/// <param name="MaxBackoff">Longest wait between attempts.</param>
public sealed record DeadLetterRetryPolicy(int MaxAttempts, TimeSpan InitialBackoff, TimeSpan MaxBackoff)
{
    /// <summary>5 attempts, 1 s doubling up to 1 min.</summary>
    public static DeadLetterRetryPolicy Default { get; } = new(5, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1));

    /// <summary>The wait after the <paramref name="attempts"/>-th failed attempt.</summary>
    public TimeSpan BackoffAfter(int attempts)
    {
        var factor = Math.Pow(2, Math.Clamp(attempts - 1, 0, 30));
        return TimeSpan.FromTicks((long)Math.Min(MaxBackoff.Ticks, InitialBackoff.Ticks * factor));
    }
}
