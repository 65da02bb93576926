using System.Diagnostics;
using System.Runtime.InteropServices;

namespace StreamMonitor.Testing;

/// <summary>How to start a .NET program (a service or the CLI) as a separate OS process.</summary>
/// <param name="DllPath">The program's dll, run with `dotnet DllPath args...`.</param>
public sealed record ServiceProcessOptions(string DllPath)
{
    /// <summary>Command-line arguments.</summary>
    public IReadOnlyList<string> Arguments { get; init; } = [];

    /// <summary>Extra environment variables (a null value removes the variable), e.g. Kafka__BootstrapServers.</summary>
    public IReadOnlyDictionary<string, string?> Environment { get; init; } = new Dictionary<string, string?>();

    /// <summary>Working directory (default: the dll's directory).</summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>Receives every output line as it arrives (e.g. ITestOutputHelper.WriteLine); may be called concurrently.</summary>
    public Action<string>? OnLine { get; init; }
}

/// <summary>
/// A .NET program running as its own OS process, with stdout and stderr captured line by line. <see cref="Kill"/> is
/// SIGKILL (no shutdown code runs: a crash), <see cref="StopAsync"/> is SIGTERM (graceful), disposal kills the tree.
/// </summary>
public sealed partial class ServiceProcess : IAsyncDisposable
{
    private const int SigTerm = 15;

    private readonly Process _process;
    private readonly List<string> _lines = [];
    private readonly Lock _gate = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ServiceProcess(ServiceProcessOptions options)
    {
        Options = options;
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = options.WorkingDirectory ?? Path.GetDirectoryName(Path.GetFullPath(options.DllPath)) ?? ".",
        };
        info.ArgumentList.Add(options.DllPath);
        foreach (var argument in options.Arguments)
        {
            info.ArgumentList.Add(argument);
        }

        // Children of a test host would otherwise inherit its settings (e.g. DOTNET_ENVIRONMENT of the runner).
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        foreach (var (key, value) in options.Environment)
        {
            if (value is null)
            {
                info.Environment.Remove(key);
            }
            else
            {
                info.Environment[key] = value;
            }
        }

        _process = new Process { StartInfo = info, EnableRaisingEvents = true };
        _process.OutputDataReceived += (_, e) => OnData(e.Data);
        _process.ErrorDataReceived += (_, e) => OnData(e.Data);
        _process.Exited += (_, _) => Signal();
        if (!_process.Start())
        {
            throw new InvalidOperationException($"Could not start dotnet {options.DllPath}.");
        }

        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>How this process was started (reuse it to restart after a kill).</summary>
    public ServiceProcessOptions Options { get; }

    /// <summary>OS process id.</summary>
    public int Id => _process.Id;

    /// <summary>Whether the process has exited.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>Exit code (only once exited).</summary>
    public int ExitCode => _process.ExitCode;

    /// <summary>Snapshot of every output line so far (stdout and stderr interleaved as received).</summary>
    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_gate)
            {
                return [.. _lines];
            }
        }
    }

    /// <summary>Starts a program.</summary>
    public static ServiceProcess Start(ServiceProcessOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new ServiceProcess(options);
    }

    /// <summary>Starts a new process with the same options (after <see cref="Kill"/> or exit).</summary>
    public ServiceProcess Restart()
    {
        if (!HasExited)
        {
            throw new InvalidOperationException("The process is still running; kill or stop it first.");
        }

        return new ServiceProcess(Options);
    }

    /// <summary>Waits for an output line matching <paramref name="predicate"/> (lines already received count).</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> predicate, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        var index = 0;
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                for (; index < _lines.Count; index++)
                {
                    if (predicate(_lines[index]))
                    {
                        return _lines[index];
                    }
                }

                changed = _changed.Task;
            }

            if (HasExited)
            {
                // Output may still be draining after exit: give the readers a moment before giving up.
                _process.WaitForExit();
                lock (_gate)
                {
                    if (index < _lines.Count)
                    {
                        continue;
                    }
                }

                throw new InvalidOperationException($"Process {Options.DllPath} exited with code {ExitCode} before the expected line. Output:\n{string.Join('\n', Lines.TakeLast(40))}");
            }

            try
            {
                await changed.WaitAsync(cts.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"No matching line from {Options.DllPath} within {timeout}. Output:\n{string.Join('\n', Lines.TakeLast(40))}");
            }
        }
    }

    /// <summary>Waits for an output line containing <paramref name="text"/>.</summary>
    public Task<string> WaitForLineAsync(string text, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        WaitForLineAsync(line => line.Contains(text, StringComparison.Ordinal), timeout, cancellationToken);

    /// <summary>Polls <paramref name="url"/> (e.g. /readyz) until it answers 2xx.</summary>
    public async Task WaitForHttpOkAsync(Uri url, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        while (true)
        {
            if (HasExited)
            {
                throw new InvalidOperationException($"Process {Options.DllPath} exited with code {ExitCode} before {url} answered. Output:\n{string.Join('\n', Lines.TakeLast(40))}");
            }

            try
            {
                using var response = await http.GetAsync(url, cts.Token);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException) when (!cts.IsCancellationRequested)
            {
                // This attempt timed out; the overall deadline has not passed.
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"{url} did not answer 2xx within {timeout}. Output:\n{string.Join('\n', Lines.TakeLast(40))}");
            }

            try
            {
                await Task.Delay(100, cts.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"{url} did not answer 2xx within {timeout}. Output:\n{string.Join('\n', Lines.TakeLast(40))}");
            }
        }
    }

    /// <summary>SIGKILL: the process dies at once, no shutdown code runs (what a crash looks like).</summary>
    public void Kill()
    {
        if (!HasExited)
        {
            _process.Kill(entireProcessTree: false);
            _process.WaitForExit();
        }
    }

    /// <summary>SIGTERM, then waits up to <paramref name="timeout"/> for a graceful exit (SIGKILL after); returns the exit code.</summary>
    public async Task<int> StopAsync(TimeSpan timeout)
    {
        if (!HasExited)
        {
            if (OperatingSystem.IsWindows() || SendSignal(Id, SigTerm) != 0)
            {
                _process.Kill(entireProcessTree: true);
            }

            using var cts = new CancellationTokenSource(timeout);
            try
            {
                await _process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }

        return _process.ExitCode;
    }

    /// <summary>Waits for the process to exit on its own; returns the exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    /// <summary>Kills the process tree if still running.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    [LibraryImport("libc.so.6", EntryPoint = "kill", SetLastError = true)]
    private static partial int SendSignal(int pid, int signal);

    private void OnData(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_gate)
        {
            _lines.Add(line);
        }

        Options.OnLine?.Invoke(line);
        Signal();
    }

    private void Signal()
    {
        TaskCompletionSource previous;
        lock (_gate)
        {
            previous = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        previous.TrySetResult();
    }
}
