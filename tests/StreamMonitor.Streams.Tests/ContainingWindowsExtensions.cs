using StreamMonitor.Streams;

namespace StreamMonitor.Streams.Tests;

/// <summary>Test helpers over <see cref="ContainingWindows"/>.</summary>
internal static class ContainingWindowsExtensions
{
    /// <summary>The windows' starts, in order.</summary>
    public static List<long> Starts(this ContainingWindows windows)
    {
        var starts = new List<long>();
        foreach (var window in windows)
        {
            starts.Add(window.StartMs);
        }

        return starts;
    }
}
