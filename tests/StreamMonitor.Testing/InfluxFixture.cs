using StreamMonitor.Influx;
using StreamMonitor.Influx.Local;
using Xunit;

namespace StreamMonitor.Testing;

/// <summary>
/// xunit fixture running one private influxd (see <see cref="LocalInfluxd"/>) for a test class or collection.
/// Tests isolate themselves with <see cref="CreateDatabaseAsync"/>, which returns options for a fresh database.
/// </summary>
public sealed class InfluxFixture : IAsyncLifetime
{
    private LocalInfluxd? _server;
    private int _databases;

    /// <summary>The running server.</summary>
    public LocalInfluxd Server => _server ?? throw new InvalidOperationException("InfluxFixture is not initialized.");

    /// <summary>The server's HTTP API base URL.</summary>
    public Uri Url => Server.Url;

    /// <inheritdoc />
    public async Task InitializeAsync() => _server = await LocalInfluxd.StartAsync(new LocalInfluxdOptions { Database = null });

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    /// <summary>Creates a new, empty database and returns options pointing at it (fast flushes, short retries).</summary>
    public async Task<InfluxOptions> CreateDatabaseAsync(string prefix = "test")
    {
        var options = Server.CreateOptions($"{prefix}_{Interlocked.Increment(ref _databases)}_{Guid.NewGuid():N}");
        options.FlushInterval = TimeSpan.FromMilliseconds(50);
        options.RetryInitialDelay = TimeSpan.FromMilliseconds(50);
        options.RetryMaxDelay = TimeSpan.FromMilliseconds(500);
        using var query = CreateQueryClient(options);
        await query.CreateDatabaseAsync();
        return options;
    }

    /// <summary>A writer for the given options (the caller disposes it).</summary>
    public static InfluxWriter CreateWriter(InfluxOptions options) => new(options);

    /// <summary>A query client for the given options (the caller disposes it).</summary>
    public static InfluxQueryClient CreateQueryClient(InfluxOptions options) => new(options);
}
