using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace StreamMonitor.Influx.Local;

/// <summary>
/// A private InfluxDB 1.x server for the demo and tests: finds (or, as root, installs Debian's package) <c>influxd</c>,
/// starts it on a loopback port with a generated config and its own data directory, waits for <c>/ping</c> and
/// creates the database. It can be stopped and started again on the same port and data (outage tests).
/// </summary>
public sealed partial class LocalInfluxd : IAsyncDisposable
{
    private const int SigTerm = 15;
    private readonly LocalInfluxdOptions _options;
    private readonly ILogger _logger;
    private readonly string _influxd;
    private readonly string _configPath;
    private readonly bool _ownsDataDirectory;
    private readonly Queue<string> _outputTail = new();
    private readonly Lock _outputGate = new();
    private Process? _process;

    private LocalInfluxd(LocalInfluxdOptions options, ILogger logger, string influxd, int port, int rpcPort, string dataDirectory, bool ownsDataDirectory)
    {
        _options = options;
        _logger = logger;
        _influxd = influxd;
        Port = port;
        RpcPort = rpcPort;
        DataDirectory = dataDirectory;
        _ownsDataDirectory = ownsDataDirectory;
        Url = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}");
        _configPath = Path.Combine(dataDirectory, "influxdb.conf");
    }

    /// <summary>The HTTP API base URL, e.g. http://127.0.0.1:40123.</summary>
    public Uri Url { get; }

    /// <summary>HTTP port.</summary>
    public int Port { get; }

    /// <summary>Port of influxd's RPC (backup/restore) listener, also loopback.</summary>
    public int RpcPort { get; }

    /// <summary>Directory holding meta, data, WAL and the generated config.</summary>
    public string DataDirectory { get; }

    /// <summary>Whether the server process is running.</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Finds or installs influxd, starts it and waits until it serves requests.</summary>
    public static async Task<LocalInfluxd> StartAsync(LocalInfluxdOptions? options = null, ILogger? logger = null, CancellationToken cancellationToken = default)
    {
        options ??= new LocalInfluxdOptions();
        logger ??= NullLogger.Instance;
        var influxd = await FindOrInstallAsync(options, logger, cancellationToken);
        var owns = options.DataDirectory is null;
        var dataDirectory = options.DataDirectory ?? Directory.CreateTempSubdirectory("streammon-influxd-").FullName;
        Directory.CreateDirectory(dataDirectory);
        var server = new LocalInfluxd(options, logger, influxd, options.Port ?? FreeLoopbackPort(), FreeLoopbackPort(), dataDirectory, owns);
        try
        {
            await server.WriteConfigAsync(cancellationToken);
            await server.StartAgainAsync(cancellationToken);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Options pointing a client at this server.</summary>
    public InfluxOptions CreateOptions(string? database = null) => new()
    {
        Url = Url.ToString(),
        Database = database ?? _options.Database ?? "streammon",
    };

    /// <summary>Starts the (stopped) server again on the same port and data directory.</summary>
    public async Task StartAgainAsync(CancellationToken cancellationToken = default)
    {
        if (IsRunning)
        {
            throw new InvalidOperationException($"influxd on {Url} is already running.");
        }

        var info = new ProcessStartInfo(_influxd)
        {
            ArgumentList = { "run", "-config", _configPath },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = DataDirectory,
        };
        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => Remember(e.Data);
        process.ErrorDataReceived += (_, e) => Remember(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process?.Dispose();
        _process = process;

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (process.HasExited)
            {
                throw new InvalidOperationException($"influxd exited with code {process.ExitCode} while starting on {Url}: {OutputTail()}");
            }

            try
            {
                using var ping = await http.GetAsync(new Uri(Url, "ping"), cancellationToken);
                if (ping.StatusCode == HttpStatusCode.NoContent)
                {
                    break;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // A ping that took too long: try again.
            }

            if (deadline.Elapsed > _options.StartTimeout)
            {
                await StopAsync(CancellationToken.None);
                throw new TimeoutException($"influxd did not answer /ping on {Url} within {_options.StartTimeout}: {OutputTail()}");
            }

            await Task.Delay(50, cancellationToken);
        }

        if (!string.IsNullOrEmpty(_options.Database))
        {
            using var query = new InfluxQueryClient(CreateOptions());
            await query.CreateDatabaseAsync(_options.Database, cancellationToken);
        }

        _logger.LogInformation("influxd {Pid} serving {Url} (data {DataDirectory})", process.Id, Url, DataDirectory);
    }

    /// <summary>Stops the server and starts it again on the same port and data directory.</summary>
    public async Task RestartAsync(CancellationToken cancellationToken = default)
    {
        await StopAsync(cancellationToken);
        await StartAgainAsync(cancellationToken);
    }

    /// <summary>Stops the server: SIGTERM, then kill after <see cref="LocalInfluxdOptions.StopTimeout"/>. Data is kept.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (_process is not { } process || process.HasExited)
        {
            return;
        }

        if (Kill(process.Id, SigTerm) != 0)
        {
            process.Kill(entireProcessTree: true);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.StopTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            _logger.LogWarning("influxd {Pid} ignored SIGTERM for {Timeout}; killing it", process.Id, _options.StopTimeout);
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
        }

        _logger.LogInformation("influxd {Pid} on {Url} stopped", process.Id, Url);
    }

    /// <summary>Stops the server and deletes its temporary data directory unless asked to keep it.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None);
        _process?.Dispose();
        _process = null;
        if (_ownsDataDirectory && !_options.KeepDataDirectory)
        {
            try
            {
                Directory.Delete(DataDirectory, recursive: true);
            }
            catch (IOException ex)
            {
                _logger.LogWarning(ex, "Could not delete influxd data directory {DataDirectory}", DataDirectory);
            }
        }
    }

    /// <summary>
    /// The influxd binary: the configured path, PATH, or /usr/bin; installs Debian's influxdb and influxdb-client
    /// packages when missing and the process is root.
    /// </summary>
    public static async Task<string> FindOrInstallAsync(LocalInfluxdOptions options, ILogger logger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        if (options.InfluxdPath is { } configured)
        {
            return File.Exists(configured) ? configured : throw new FileNotFoundException($"influxd not found at the configured path {configured}.", configured);
        }

        if (Find() is { } found)
        {
            return found;
        }

        if (!options.InstallIfMissing || !Environment.IsPrivilegedProcess)
        {
            throw new FileNotFoundException(
                "influxd (InfluxDB 1.x) is not installed. Install it with: sudo apt-get update && sudo apt-get install -y influxdb influxdb-client");
        }

        logger.LogInformation("influxd not found; installing Debian's influxdb package");
        await RunAptAsync(["update"], cancellationToken);
        await RunAptAsync(["install", "-y", "--no-install-recommends", "influxdb", "influxdb-client"], cancellationToken);
        return Find() ?? throw new FileNotFoundException("apt-get installed influxdb but influxd is still not found on PATH or in /usr/bin.");
    }

    private static string? Find()
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        foreach (var dir in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries).Append("/usr/bin").Append("/usr/sbin"))
        {
            var candidate = Path.Combine(dir, "influxd");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private static async Task RunAptAsync(string[] arguments, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo("apt-get")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // Wait for a concurrent apt/dpkg (another test process installing the same package) instead of failing.
        foreach (var a in (string[])["-q", "-o", "DPkg::Lock::Timeout=300", .. arguments])
        {
            info.ArgumentList.Add(a);
        }

        info.Environment["DEBIAN_FRONTEND"] = "noninteractive";
        using var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start apt-get.");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"apt-get {string.Join(' ', arguments)} failed with exit code {process.ExitCode}: {InfluxHttp.Truncate(await stderr + await stdout, 2000)}");
        }
    }

    private async Task WriteConfigAsync(CancellationToken cancellationToken)
    {
        string Dir(string name) => Path.Combine(DataDirectory, name).Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal);
        // Keys checked against `influxd config` of 1.6.7. Everything that would open another port, write the
        // _internal database or log every request is off; "reporting-enabled" is Debian's spelling of the same switch.
        var config = $"""
            reporting-disabled = true
            reporting-enabled = false
            bind-address = "127.0.0.1:{RpcPort}"

            [meta]
              dir = "{Dir("meta")}"
              logging-enabled = false

            [data]
              dir = "{Dir("data")}"
              wal-dir = "{Dir("wal")}"
              query-log-enabled = false

            [monitor]
              store-enabled = false

            [subscriber]
              enabled = false

            [continuous_queries]
              log-enabled = false

            [http]
              enabled = true
              bind-address = "127.0.0.1:{Port}"
              log-enabled = false
              pprof-enabled = false
              unix-socket-enabled = false

            [ifql]
              enabled = false

            [logging]
              level = "warn"
              suppress-logo = true

            """;
        await File.WriteAllTextAsync(_configPath, config, cancellationToken);
    }

    private void Remember(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_outputGate)
        {
            _outputTail.Enqueue(line);
            if (_outputTail.Count > 40)
            {
                _outputTail.Dequeue();
            }
        }
    }

    private string OutputTail()
    {
        lock (_outputGate)
        {
            return string.Join('\n', _outputTail);
        }
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
