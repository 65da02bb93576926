using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using StreamMonitor.Aggregator;
using StreamMonitor.Kafka;

var builder = Host.CreateApplicationBuilder(args);
builder.Services.AddOptions<KafkaOptions>().Bind(builder.Configuration.GetSection(KafkaOptions.SectionName)).ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddOptions<AggregatorOptions>().Bind(builder.Configuration.GetSection(AggregatorOptions.SectionName)).ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddHostedService<AggregatorWorker>();
await builder.Build().RunAsync();
