using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StreamMonitor.Contracts;
using StreamMonitor.Influx;
using StreamMonitor.Kafka;

namespace StreamMonitor.Aggregator;

/// <summary>
/// Projects the compacted result topics into InfluxDB (a rebuildable projection of the log). Consumer group
/// "{ConsumerGroup}-influx"; offsets are committed only after the writer has flushed every point of the records
/// before them, so a crash re-writes (points overwrite by identity) and never skips. While InfluxDB is down the
/// writer's bounded buffer fills and this loop waits: results stay on Kafka, memory stays bounded.
/// </summary>
public sealed class ResultProjector(IOptions<KafkaOptions> kafkaOptions, IOptions<AggregatorOptions> aggregatorOptions, InfluxWriter writer, ILogger<ResultProjector> logger) : BackgroundService
{
    /// <inheritdoc />
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.Factory.StartNew(() => RunAsync(stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();

    private async Task RunAsync(CancellationToken stoppingToken)
    {
        var kafka = kafkaOptions.Value;
        var group = aggregatorOptions.Value.ConsumerGroup + "-influx";
        var codec = new EventCodec();
        using var consumer = new ConsumerBuilder<byte[], byte[]>(KafkaClientConfig.Consumer(kafka, group, $"{group}-{Environment.ProcessId}")).Build();
        consumer.Subscribe([kafka.Topics.LatencyResults, kafka.Topics.DriftResults, kafka.Topics.QualityResults]);
        var pending = new Dictionary<TopicPartition, TopicPartitionOffset>();
        var lastFlush = DateTime.UtcNow;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var record = consumer.Consume(TimeSpan.FromMilliseconds(200));
                if (record is not null && !record.IsPartitionEOF && record.Message.Value is { } value)
                {
                    IEnumerable<LinePoint> points = record.Topic == kafka.Topics.LatencyResults
                        ? ResultPoints.Of(codec.Deserialize<LatencyWindowResult>(value))
                        : record.Topic == kafka.Topics.QualityResults
                            ? [ResultPoints.Of(codec.Deserialize<QualityWindowResult>(value))]
                            : ResultPoints.Of(codec.Deserialize<DriftWindowResult>(value));
                    await writer.WriteAsync(points, stoppingToken);
                    pending[record.TopicPartition] = new TopicPartitionOffset(record.TopicPartition, record.Offset + 1);
                }

                if (pending.Count > 0 && (record is null || DateTime.UtcNow - lastFlush > TimeSpan.FromSeconds(1)))
                {
                    await writer.FlushAsync(stoppingToken);
                    consumer.Commit(pending.Values);
                    pending.Clear();
                    lastFlush = DateTime.UtcNow;
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            logger.LogInformation("Result projection stopping; uncommitted results will be re-written on restart");
        }
        finally
        {
            consumer.Close();
        }
    }
}
