using Xunit;

namespace StreamMonitor.Testing;

/// <summary>Waiting in tests for a condition that other threads or processes make true.</summary>
public static class Poll
{
    /// <summary>Checks <paramref name="condition"/> every 100 ms; fails the test naming <paramref name="what"/> once <paramref name="timeout"/> has passed.</summary>
    public static async Task UntilAsync(Func<bool> condition, TimeSpan timeout, Func<string> what)
    {
        ArgumentNullException.ThrowIfNull(condition);
        ArgumentNullException.ThrowIfNull(what);
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "Timed out waiting for " + what());
            await Task.Delay(100);
        }
    }
}
