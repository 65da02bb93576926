using StreamMonitor.Alerter;
using StreamMonitor.Hosting;

var builder = StreamMonitorHost.CreateBuilder("alerter", args, defaultPort: 8083);
builder.AddAlerter();

var app = builder.Build();
if (app.CheckAlerterConfiguration() is { } problem)
{
    await Console.Error.WriteLineAsync(problem);
    return 2;
}

app.MapStreamMonitorEndpoints();
await app.RunAsync();
return 0;
