using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace StreamMonitor.Stack;

/// <summary>
/// A service (or any dotnet program) run as a child process: configuration through environment variables, output
/// appended to a log file and the last lines kept for error messages, readiness by polling a URL, and a clean stop
/// (SIGTERM, then a kill of the process tree after a grace period). Disposing stops it.
/// </summary>
public sealed partial class ChildService : IAsyncDisposable
{
    private const int KeptLines = 200;
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _tail = new();
    private readonly StreamWriter _log;
    private readonly ILogger _logger;
    private int _stopped;

    private ChildService(string name, Process process, StreamWriter log, string logPath, ILogger logger)
    {
        Name = name;
        _process = process;
        _log = log;
        LogPath = logPath;
        _logger = logger;
    }

    /// <summary>Name used in messages.</summary>
    public string Name { get; }

    /// <summary>File the child's output is written to.</summary>
    public string LogPath { get; }

    /// <summary>Operating-system process id.</summary>
    public int ProcessId => _process.Id;

    /// <summary>Whether the process has exited.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>The last lines the child wrote.</summary>
    public IReadOnlyList<string> Tail => _tail.ToArray();

    /// <summary>Starts <c>dotnet {dll} {args}</c> with extra environment variables.</summary>
    public static ChildService StartDotnet(string name, string dll, IEnumerable<string> args, IReadOnlyDictionary<string, string> environment, string workingDirectory, string logDirectory, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(environment);
        var info = new ProcessStartInfo(DotnetHost())
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(dll);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        Directory.CreateDirectory(logDirectory);
        var logPath = Path.Combine(logDirectory, name + ".log");
        var log = new StreamWriter(new FileStream(logPath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var child = new ChildService(name, process, log, logPath, logger);
        process.OutputDataReceived += (_, e) => child.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => child.OnLine(e.Data);
        if (!process.Start())
        {
            throw new InvalidOperationException($"Could not start {name} ({dll}).");
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        logger.LogInformation("Started {Service} (pid {Pid}), log {Log}", name, process.Id, logPath);
        return child;
    }

    /// <summary>Polls <paramref name="url"/> until it answers 2xx; throws with the child's last output if it exits or times out.</summary>
    public async Task WaitHealthyAsync(Uri url, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{Name} exited with code {_process.ExitCode} before it was healthy. Last output:{Environment.NewLine}{string.Join(Environment.NewLine, Tail.TakeLast(30))}");
            }

            try
            {
                using var response = await http.GetAsync(url, cancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // The request timed out; try again.
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{Name} did not answer {url} within {timeout.TotalSeconds:F0} s. Last output:{Environment.NewLine}{string.Join(Environment.NewLine, Tail.TakeLast(30))}");
            }

            await Task.Delay(250, cancellationToken);
        }
    }

    /// <summary>Waits for the process to exit by itself (for one-shot programs); returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(CancellationToken cancellationToken)
    {
        await _process.WaitForExitAsync(cancellationToken);
        return _process.ExitCode;
    }

    /// <summary>Asks the child to stop (SIGTERM: the Generic Host shuts down gracefully), kills the tree after <paramref name="grace"/>.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1)
        {
            return;
        }

        try
        {
            if (!_process.HasExited)
            {
                if (OperatingSystem.IsWindows() || SysKill(_process.Id, 15) != 0)
                {
                    _process.Kill(entireProcessTree: true);
                }

                using var timeout = new CancellationTokenSource(grace);
                try
                {
                    await _process.WaitForExitAsync(timeout.Token);
                }
                catch (OperationCanceledException)
                {
                    _logger.LogWarning("{Service} did not stop within {Grace} s; killing it", Name, grace.TotalSeconds);
                    _process.Kill(entireProcessTree: true);
                    await _process.WaitForExitAsync(CancellationToken.None);
                }
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.FromSeconds(10));
        _process.Dispose();
        await _log.DisposeAsync();
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        _tail.Enqueue(line);
        while (_tail.Count > KeptLines && _tail.TryDequeue(out _))
        {
        }

        lock (_log)
        {
            _log.WriteLine(line);
        }
    }

    private static string DotnetHost()
    {
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(host) && File.Exists(host))
        {
            return host;
        }

        var current = Environment.ProcessPath;
        return current is not null && Path.GetFileNameWithoutExtension(current).Equals("dotnet", StringComparison.OrdinalIgnoreCase) ? current : "dotnet";
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SysKill(int pid, int signal);
}
