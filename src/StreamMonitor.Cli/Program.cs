using System.CommandLine;
using StreamMonitor.Cli.Commands;

var root = new RootCommand("streammon: the StreamMonitor command line (embedded Kafka cluster, local InfluxDB, models, replay, demo).");

// One verb (group) per file under Commands/, registered with one line each, in alphabetical order.
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

return await root.Parse(args).InvokeAsync();
