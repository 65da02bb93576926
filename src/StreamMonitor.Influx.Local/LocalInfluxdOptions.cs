namespace StreamMonitor.Influx.Local;

/// <summary>How <see cref="LocalInfluxd"/> starts a private influxd.</summary>
public sealed class LocalInfluxdOptions
{
    /// <summary>HTTP port on 127.0.0.1; a free one when null.</summary>
    public int? Port { get; set; }

    /// <summary>Directory for meta, data and WAL; a new temporary directory (deleted on dispose) when null.</summary>
    public string? DataDirectory { get; set; }

    /// <summary>Keep a temporary data directory on dispose (for post-mortems).</summary>
    public bool KeepDataDirectory { get; set; }

    /// <summary>Database created once the server answers /ping; none when empty.</summary>
    public string? Database { get; set; } = "streammon";

    /// <summary>Path of the influxd binary; searched on PATH and in /usr/bin when null.</summary>
    public string? InfluxdPath { get; set; }

    /// <summary>Install Debian's influxdb package with apt-get when influxd is missing and the process is root.</summary>
    public bool InstallIfMissing { get; set; } = true;

    /// <summary>How long to wait for /ping after starting.</summary>
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long to wait after SIGTERM before killing.</summary>
    public TimeSpan StopTimeout { get; set; } = TimeSpan.FromSeconds(10);
}
