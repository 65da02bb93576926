using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Prometheus;
using StreamMonitor.Contracts;
using StreamMonitor.Hosting.Projection;
using StreamMonitor.Influx;
using StreamMonitor.Kafka;

namespace StreamMonitor.Alerter;

/// <summary>
/// Projects the alerter's outputs, the alerts and slo-status topics, into InfluxDB (measurements alert, slo_status and
/// slo_burn_rate): the shared <see cref="TopicProjector"/> loop in consumer group "{EvaluatorId}-influx", beside the
/// decision loop and never in its way. While InfluxDB is down it waits and commits nothing, so every output written
/// meanwhile is projected once InfluxDB is back.
/// </summary>
public sealed class AlerterProjector(IOptions<KafkaOptions> kafkaOptions, IOptions<AlerterOptions> alerterOptions, EventCodec codec, InfluxWriter writer, ProgressWatchdog watchdog, ILogger<AlerterProjector> logger, IMetricFactory metricFactory)
    : TopicProjector(
        new ProjectorSettings("alerter/projection", alerterOptions.Value.EvaluatorId + "-influx", [kafkaOptions.Value.Topics.Alerts, kafkaOptions.Value.Topics.SloStatus], kafkaOptions.Value),
        new OutputProjection(kafkaOptions.Value.Topics, codec, new ProjectionMetrics(metricFactory, "alerter")),
        writer,
        watchdog,
        logger);
