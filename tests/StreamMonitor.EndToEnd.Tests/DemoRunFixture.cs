using Microsoft.Extensions.Logging;
using Spectre.Console;
using StreamMonitor.Demo;

namespace StreamMonitor.EndToEnd.Tests;

/// <summary>
/// One short demo run (75 s of traffic, about 75 minutes of event time) shared by the end-to-end tests: the embedded
/// Kafka cluster, a real influxd and the three services as separate processes stay up until the tests are done.
/// </summary>
public sealed class DemoRunFixture : IAsyncLifetime
{
    private readonly StringWriter _console = new();
    private ILoggerFactory? _loggers;

    public DemoStack Stack { get; private set; } = null!;

    public DemoResult Result { get; private set; } = null!;

    public DemoOptions Options { get; } = new()
    {
        Duration = TimeSpan.FromSeconds(75),
        RatePerSecond = 50,
        TimeCompression = 60,
        Interactive = false,
        WorkDirectory = Path.Combine(Path.GetTempPath(), "streammon-e2e-" + Guid.NewGuid().ToString("N")),
        DataSet = RepoPaths.DataSet,
        SloFile = Path.Combine(RepoPaths.Root, "config", "demo-slos.yaml"),
        DashboardsDirectory = DashboardFiles.Directory,
    };

    /// <summary>What the demo printed.</summary>
    public string ConsoleOutput => _console.ToString();

    public ILoggerFactory Loggers => _loggers!;

    public async Task InitializeAsync()
    {
        _loggers = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Warning));
        Stack = await DemoStack.StartInfrastructureAsync(Options, _loggers, CancellationToken.None);
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(_console), Interactive = InteractionSupport.No, Ansi = AnsiSupport.No });
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(6));
        Result = await new DemoRunner(Options, _loggers, console).RunAsync(Stack, timeout.Token);
    }

    public async Task DisposeAsync()
    {
        await Stack.DisposeAsync();
        _loggers?.Dispose();
        try
        {
            Directory.Delete(Options.WorkDirectory, recursive: true);
        }
        catch (IOException)
        {
            // A child may still hold a log file open for a moment; the folder is under the temp directory.
        }
    }
}

[CollectionDefinition(Name)]
public sealed class DemoRunCollection : ICollectionFixture<DemoRunFixture>
{
    public const string Name = "demo run";
}
