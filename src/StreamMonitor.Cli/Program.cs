using System.CommandLine;
using StreamMonitor.Cli.Commands;
using StreamMonitor.Contracts;

var root = new RootCommand("streammon: the StreamMonitor command line (embedded Kafka cluster, local InfluxDB, models, replay, demo).");

// One verb (group) per file under Commands/, registered with one line each, in alphabetical order.
root.Add(DashboardCommands.Create());
root.Add(DemoCommands.Create());
root.Add(InfluxCommands.Create());
root.Add(KafkaCommand.Create());
root.Add(ModelCommands.Create());
root.Add(ProfileCommands.Create());
root.Add(ReplayCommands.Create());
root.Add(ReportCommands.Create());
root.Add(ScoreCommands.Create());
root.Add(SloCommands.Create());
root.Add(TrafficCommands.Create());

// Verbs bind Kafka settings from the environment as the services do: Kafka__SessionTimeout=10s as well as 00:00:10.
Durations.RegisterTimeSpanConverter();

// Redirected output (logs, CI, tests) has no terminal width, and Spectre.Console would wrap tables and lines at 80
// columns; use $COLUMNS when set, else a width that keeps topic names and table rows on one line.
if (Console.IsOutputRedirected)
{
    Spectre.Console.AnsiConsole.Profile.Width = int.TryParse(Environment.GetEnvironmentVariable("COLUMNS"), out var columns) && columns > 0 ? columns : 160;
}

return await root.Parse(args).InvokeAsync();
