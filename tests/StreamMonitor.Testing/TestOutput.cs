using Xunit.Abstractions;

namespace StreamMonitor.Testing;

/// <summary>Forwards a child process's output lines to a test's log.</summary>
public static class TestOutput
{
    /// <summary>
    /// A line callback for <see cref="ServiceProcessOptions.OnLine"/> writing to <paramref name="output"/>, each line
    /// prefixed with "[<paramref name="source"/>] " when a source is given. Lines that arrive after the test has finished
    /// (a process still shutting down) are dropped: xunit refuses them, and the process has no test to write to.
    /// </summary>
    public static Action<string> Forward(ITestOutputHelper output, string? source = null)
    {
        ArgumentNullException.ThrowIfNull(output);
        return line =>
        {
            try
            {
                output.WriteLine(source is null ? line : $"[{source}] {line}");
            }
            catch (InvalidOperationException)
            {
                // The test has finished.
            }
        };
    }
}
