using System.Diagnostics;

namespace StreamMonitor.Testing;

/// <summary>
/// Runs the Python examples (examples/python) with Debian's interpreter, where apt installs python3-confluent-kafka and
/// python3-avro (a pyenv python3 on PATH has neither; scripts/ensure-python.sh installs them).
/// </summary>
public static class PythonScript
{
    /// <summary>Debian's interpreter.</summary>
    public const string Python = "/usr/bin/python3";

    /// <summary>examples/python of the repository.</summary>
    public static string Examples => Path.Combine(StreammonCli.RepositoryRoot, "examples", "python");

    /// <summary>Runs <paramref name="arguments"/> in <see cref="Examples"/>; a run past <paramref name="timeout"/> is killed and reported as exit -1.</summary>
    public static async Task<(int Exit, string Stdout, string Output)> RunAsync(IReadOnlyList<string> arguments, TimeSpan timeout, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        if (!File.Exists(Python))
        {
            return (-1, "", $"{Python} is missing: apt-get install python3 python3-confluent-kafka python3-avro (scripts/ensure-python.sh).");
        }

        var start = new ProcessStartInfo(Python)
        {
            WorkingDirectory = Examples,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // No __pycache__ in the working tree.
        start.Environment["PYTHONDONTWRITEBYTECODE"] = "1";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        var (outText, errText) = (await stdout, await stderr);
        var name = arguments.Count > 0 ? Path.GetFileName(arguments[0]) : "python3";
        log?.Invoke($"python3 {name} exited {process.ExitCode}:\n{outText}{errText}");
        return (cancel.IsCancellationRequested ? -1 : process.ExitCode, outText, $"{name} (exit {process.ExitCode}{(cancel.IsCancellationRequested ? ", timed out" : "")}):\n{outText}\n{errText}");
    }
}
