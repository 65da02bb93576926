using StreamMonitor.Aggregator;
using StreamMonitor.Hosting;

var builder = StreamMonitorHost.CreateBuilder("aggregator", args, defaultPort: 8082);
builder.AddAggregator();

var app = builder.Build();
app.MapStreamMonitorEndpoints();
await app.RunAsync();
