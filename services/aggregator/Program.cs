using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using StreamMonitor.Aggregator;
using StreamMonitor.Hosting;

var builder = StreamMonitorHost.CreateBuilder("aggregator", args, defaultPort: 8082);
builder.AddValidatedOptions<AggregatorOptions>(AggregatorOptions.SectionName);
builder.Services.AddHostedService<AggregatorWorker>();
if (builder.Configuration.GetSection(AggregatorOptions.SectionName).GetValue("InfluxEnabled", true))
{
    builder.Services.AddHostedService<ResultProjector>();
}

var app = builder.Build();
app.MapStreamMonitorEndpoints();
await app.RunAsync();
