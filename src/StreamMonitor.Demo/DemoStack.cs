using System.Globalization;
using Microsoft.Extensions.Logging;
using StreamMonitor.Influx;
using StreamMonitor.Influx.Local;
using StreamMonitor.Contracts;
using StreamMonitor.Kafka;
using StreamMonitor.Kafka.Embedded;
using StreamMonitor.Stack;

namespace StreamMonitor.Demo;

/// <summary>
/// The local stack of a demo: the embedded Kafka cluster (librdkafka's mock cluster in this process, or a given
/// cluster), InfluxDB (a local influxd child process, or a given server), and the scorer, aggregator and alerter as
/// separate child processes configured through environment variables. Disposing stops everything it started, in
/// reverse order.
/// </summary>
public sealed class DemoStack : IAsyncDisposable
{
    private readonly List<ChildService> _services = [];
    private readonly ILogger _logger;
    private MockCluster? _cluster;
    private LocalInfluxd? _influxd;

    private DemoStack(ILogger logger, string workDirectory)
    {
        _logger = logger;
        WorkDirectory = workDirectory;
    }

    /// <summary>Kafka settings of the live namespace.</summary>
    public KafkaOptions Kafka { get; private set; } = new();

    /// <summary>InfluxDB settings the services write with.</summary>
    public InfluxOptions Influx { get; private set; } = new();

    /// <summary>Run folder.</summary>
    public string WorkDirectory { get; }

    /// <summary>Where the services' logs go.</summary>
    public string LogDirectory => Path.Combine(WorkDirectory, "logs");

    /// <summary>The running services by name.</summary>
    public IReadOnlyList<ChildService> Services => _services;

    /// <summary>HTTP base address of each service by name.</summary>
    public Dictionary<string, Uri> ServiceUrls { get; } = new(StringComparer.Ordinal);

    /// <summary>Starts Kafka and InfluxDB (the services start with <see cref="StartServiceAsync"/>, once the models exist).</summary>
    public static async Task<DemoStack> StartInfrastructureAsync(DemoOptions options, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggers);
        var work = Path.GetFullPath(options.WorkDirectory);
        Directory.CreateDirectory(work);
        var stack = new DemoStack(loggers.CreateLogger("streammon.demo.stack"), work);
        try
        {
            if (string.IsNullOrWhiteSpace(options.BootstrapServers))
            {
                stack._cluster = MockCluster.Start(1);
                stack.Kafka = new KafkaOptions { BootstrapServers = stack._cluster.BootstrapServers, SessionTimeout = TimeSpan.FromSeconds(6) };
                foreach (var topic in stack.Kafka.Topics.All)
                {
                    stack._cluster.CreateTopic(topic.Name, topic.Partitions, 1);
                }

                stack._logger.LogInformation("Embedded Kafka cluster at {Bootstrap}", stack.Kafka.BootstrapServers);
            }
            else
            {
                stack.Kafka = new KafkaOptions { BootstrapServers = options.BootstrapServers };
            }

            if (options.InfluxUrl is null)
            {
                stack._influxd = await LocalInfluxd.StartAsync(
                    new LocalInfluxdOptions { DataDirectory = Path.Combine(work, "influxdb"), Database = options.InfluxDatabase },
                    loggers.CreateLogger("streammon.demo.influxd"),
                    cancellationToken);
                stack.Influx = stack._influxd.CreateOptions(options.InfluxDatabase);
            }
            else
            {
                stack.Influx = new InfluxOptions { Url = options.InfluxUrl.ToString(), Database = options.InfluxDatabase };
                using var client = new InfluxQueryClient(stack.Influx);
                await client.CreateDatabaseAsync(options.InfluxDatabase, cancellationToken);
            }

            return stack;
        }
        catch
        {
            await stack.DisposeAsync();
            throw;
        }
    }

    /// <summary>Creates the topics of another namespace (a replay suffix) on the embedded cluster; a real cluster creates them with `streammon kafka topics --suffix`.</summary>
    public void CreateTopics(TopicCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        if (_cluster is null)
        {
            return;
        }

        foreach (var topic in catalog.All)
        {
            _cluster.CreateTopic(topic.Name, topic.Partitions, 1);
        }
    }

    /// <summary>Environment shared by every service: Kafka and InfluxDB settings (with an optional topic suffix / database).</summary>
    public Dictionary<string, string> CommonEnvironment(string? topicSuffix = null, string? influxDatabase = null)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["Kafka__BootstrapServers"] = Kafka.BootstrapServers,
            ["Kafka__SessionTimeout"] = Durations.Format(Kafka.SessionTimeout),
            ["Influx__Url"] = Influx.Url,
            ["Influx__Database"] = influxDatabase ?? Influx.Database,
            ["DOTNET_gcServer"] = "0",
        };
        if (!string.IsNullOrEmpty(topicSuffix))
        {
            env["Kafka__Topics__Suffix"] = topicSuffix;
        }

        foreach (var (key, value) in Kafka.Client)
        {
            env["Kafka__Client__" + key] = value;
        }

        return env;
    }

    /// <summary>
    /// Starts a service as a child process on a free loopback port and waits for its /readyz: the scorer's says its
    /// consumer has joined its group, so traffic started after it is scored as it arrives, not as a backlog whose
    /// wait for the join (and the first batch's cost) would show as start-up latency.
    /// </summary>
    public async Task<ChildService> StartServiceAsync(string service, string instanceName, IReadOnlyDictionary<string, string> environment, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var port = LocalPorts.Free();
        var url = new Uri($"http://127.0.0.1:{port}");
        var env = new Dictionary<string, string>(environment, StringComparer.Ordinal) { ["Urls"] = url.ToString().TrimEnd('/') };
        var dll = ServicePaths.ServiceDll(service);
        var child = ChildService.StartDotnet(instanceName, dll, [], env, Path.GetDirectoryName(dll)!, LogDirectory, _logger);
        _services.Add(child);
        ServiceUrls[instanceName] = url;
        await child.WaitHealthyAsync(new Uri(url, "/readyz"), TimeSpan.FromSeconds(90), cancellationToken);
        return child;
    }

    /// <summary>Stops one service started by this stack.</summary>
    public async Task StopServiceAsync(ChildService service)
    {
        ArgumentNullException.ThrowIfNull(service);
        await service.DisposeAsync();
        _services.Remove(service);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        for (var i = _services.Count - 1; i >= 0; i--)
        {
            await _services[i].DisposeAsync();
        }

        _services.Clear();
        if (_influxd is not null)
        {
            await _influxd.DisposeAsync();
            _influxd = null;
        }

        _cluster?.Dispose();
        _cluster = null;
    }

}
