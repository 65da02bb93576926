using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using StreamMonitor.Contracts;
using StreamMonitor.Kafka;

namespace StreamMonitor.Replay;

/// <summary>What was copied from one source partition.</summary>
/// <param name="SourceTopic">Topic read.</param>
/// <param name="TargetTopic">Topic written.</param>
/// <param name="Partition">Partition (the same in both).</param>
/// <param name="StartOffset">First offset of the scanned span.</param>
/// <param name="EndOffset">End (exclusive) of the scanned span.</param>
/// <param name="Method">How the span was located.</param>
/// <param name="Copied">Records copied.</param>
/// <param name="OutOfRange">Records in the span but outside the range, not copied.</param>
/// <param name="Undecodable">Records copied without a readable time (the live services dead-lettered them).</param>
/// <param name="LateLabels">Labels copied from after the range's end, within the label horizon, for events of the range.</param>
public sealed record PartitionCopy(string SourceTopic, string TargetTopic, int Partition, long StartOffset, long EndOffset, LocateMethod Method, long Copied, long OutOfRange, long Undecodable, long LateLabels = 0);

/// <summary>Progress of a copy: records scanned of the located spans, and copied.</summary>
public sealed record CopyProgress(long Scanned, long ToScan, long Copied);

/// <summary>
/// Copies an event-time range [from, to) of the input topics (features, predictions, labels) from one namespace into
/// another (a replay suffix): partition p to partition p, in offset order, with keys, values, timestamps and headers
/// unchanged, so the per-partition order, and with it every event-time computation downstream, is the same as live.
/// The span to scan is located with <see cref="OffsetLocator"/> at from - slack and to + slack (slack: the largest
/// out-of-orderness of record times along a partition); inside it each record is kept by its exact time (features and
/// predictions: event time; labels: label time). Labels arrive hours or days after their events, so labels are read up
/// to to + the label horizon and those after to are kept when they label an event of the range: without them the
/// replay's quality (and its quality alerts) would differ from live for every window near the end. Undecodable records
/// inside the span are copied too: they are data the live services saw (and dead-lettered), and the replay must see
/// them as well.
/// </summary>
public sealed class RangeCopier
{
    private readonly KafkaOptions _source;
    private readonly KafkaOptions _target;
    private readonly ILogger _logger;
    private readonly EventCodec _codec = new();

    /// <summary>Creates a copier between two namespaces of the same cluster (their topic catalogs differ by suffix).</summary>
    public RangeCopier(KafkaOptions source, KafkaOptions target, ILogger logger)
    {
        _source = source ?? throw new ArgumentNullException(nameof(source));
        _target = target ?? throw new ArgumentNullException(nameof(target));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        if (source.Topics.Features == target.Topics.Features)
        {
            throw new ArgumentException("The replay namespace must differ from the source (set a topic suffix).", nameof(target));
        }

        if (source.Topics.InputPartitions != target.Topics.InputPartitions)
        {
            throw new ArgumentException("Source and replay topics need equal partition counts to keep per-partition order.", nameof(target));
        }
    }

    /// <summary>
    /// Copies the range; predictions are skipped when <paramref name="includePredictions"/> is false (re-scoring).
    /// Labels of the range's events are copied up to <paramref name="toMs"/> + <paramref name="labelHorizon"/>.
    /// </summary>
    public async Task<IReadOnlyList<PartitionCopy>> CopyAsync(long fromMs, long toMs, TimeSpan labelHorizon, TimeSpan slack, bool includePredictions, IProgress<CopyProgress>? progress, CancellationToken cancellationToken)
    {
        if (toMs <= fromMs)
        {
            throw new ArgumentException($"The range is empty: to ({toMs}) <= from ({fromMs}).", nameof(toMs));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(labelHorizon, TimeSpan.Zero);
        var labelsToMs = toMs > long.MaxValue - (long)labelHorizon.TotalMilliseconds ? long.MaxValue : toMs + (long)labelHorizon.TotalMilliseconds;

        // Event ids of the range's features (copied first), so labels after the range's end are kept only for them.
        var rangeEvents = new HashSet<string>(StringComparer.Ordinal);
        var topics = new List<(string Source, string Target, Func<byte[], (long Time, string Id)?> Read, long ToMs)>
        {
            (_source.Topics.Features, _target.Topics.Features, v => _codec.TryDeserialize<FeatureEvent>(v, out var e, out _) ? (e!.EventTimeMs, e.EventId) : null, toMs),
            (_source.Topics.Labels, _target.Topics.Labels, v => _codec.TryDeserialize<Label>(v, out var l, out _) ? (l!.LabelTimeMs, l.EventId) : null, labelsToMs),
        };
        if (includePredictions)
        {
            topics.Insert(1, (_source.Topics.Predictions, _target.Topics.Predictions, v => _codec.TryDeserialize<Prediction>(v, out var p, out _) ? (p!.EventTimeMs, p.EventId) : null, toMs));
        }

        var config = KafkaClientConfig.Consumer(_source, "streammon-replay-" + Guid.NewGuid().ToString("N"), "streammon-replay");
        config.EnablePartitionEof = true;
        using var consumer = new ConsumerBuilder<byte[], byte[]>(config).Build();
        var fetchTimeout = TimeSpan.FromSeconds(10);

        // Locate every span first, so progress has a total.
        var spans = new List<(string Source, string Target, Func<byte[], (long Time, string Id)?> Read, long ToMs, int Partition, long Start, long End, LocateMethod Method)>();
        foreach (var (sourceTopic, targetTopic, read, spanToMs) in topics)
        {
            var locator = new OffsetLocator(consumer, r => r.Message.Value is null ? null : read(r.Message.Value)?.Time, fetchTimeout);
            for (var p = 0; p < _source.Topics.InputPartitions; p++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var tp = new TopicPartition(sourceTopic, p);
                var watermarks = consumer.QueryWatermarkOffsets(tp, fetchTimeout);
                var (start, method) = locator.Locate(tp, fromMs - (long)slack.TotalMilliseconds, watermarks.Low.Value, watermarks.High.Value);
                var (end, _) = locator.Locate(tp, spanToMs > long.MaxValue - (long)slack.TotalMilliseconds ? long.MaxValue : spanToMs + (long)slack.TotalMilliseconds, start, watermarks.High.Value);
                spans.Add((sourceTopic, targetTopic, read, spanToMs, p, start, end, method));
                _logger.LogDebug("{Topic}[{Partition}]: offsets [{Start}, {End}) by {Method}, {Probes} probes", sourceTopic, p, start, end, method, locator.Probes);
            }
        }

        var toScan = spans.Sum(s => s.End - s.Start);
        long scanned = 0;
        long copiedTotal = 0;
        long deliveryErrors = 0;
        string? firstError = null;
        var producerConfig = KafkaClientConfig.Producer(_target, "streammon-replay");
        using var producer = new ProducerBuilder<byte[], byte[]>(producerConfig).Build();
        var results = new List<PartitionCopy>();
        foreach (var span in spans)
        {
            long copied = 0, outOfRange = 0, undecodable = 0, lateLabels = 0;
            var isFeatures = span.Source == _source.Topics.Features;
            foreach (var record in PartitionRangeReader.Records(consumer, [new TopicPartitionRange(new TopicPartition(span.Source, span.Partition), span.Start, span.End)], fetchTimeout, cancellationToken))
            {
                scanned++;
                var read = record.Message.Value is null ? null : span.Read(record.Message.Value);
                if (read is not { } item)
                {
                    undecodable++;
                }
                else if (item.Time < fromMs || item.Time >= span.ToMs || (item.Time >= toMs && !rangeEvents.Contains(item.Id)))
                {
                    outOfRange++;
                    continue;
                }
                else if (item.Time >= toMs)
                {
                    lateLabels++;
                }
                else if (isFeatures)
                {
                    rangeEvents.Add(item.Id);
                }

                var message = new Message<byte[], byte[]> { Key = record.Message.Key, Value = record.Message.Value!, Timestamp = record.Message.Timestamp, Headers = record.Message.Headers };
                await ProduceAsync(producer, new TopicPartition(span.Target, span.Partition), message, report =>
                {
                    if (report.Error.IsError && Interlocked.Increment(ref deliveryErrors) == 1)
                    {
                        firstError = report.Error.Reason;
                    }
                }, cancellationToken);
                copied++;
                copiedTotal++;
                if ((scanned & 1023) == 0)
                {
                    progress?.Report(new CopyProgress(scanned, toScan, copiedTotal));
                }
            }

            results.Add(new PartitionCopy(span.Source, span.Target, span.Partition, span.Start, span.End, span.Method, copied, outOfRange, undecodable, lateLabels));
        }

        while (producer.Flush(TimeSpan.FromMilliseconds(500)) > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
        }

        progress?.Report(new CopyProgress(scanned, toScan, copiedTotal));
        if (deliveryErrors > 0)
        {
            throw new KafkaException(new Error(ErrorCode.Local_Fail, $"{deliveryErrors} records could not be written to the replay namespace; first error: {firstError}"));
        }

        consumer.Close();
        return results;
    }

    private static async Task ProduceAsync(IProducer<byte[], byte[]> producer, TopicPartition partition, Message<byte[], byte[]> message, Action<DeliveryReport<byte[], byte[]>> onDelivery, CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                producer.Produce(partition, message, onDelivery);
                return;
            }
            catch (ProduceException<byte[], byte[]> ex) when (ex.Error.Code == ErrorCode.Local_QueueFull)
            {
                producer.Flush(TimeSpan.FromMilliseconds(50));
                await Task.Yield();
                cancellationToken.ThrowIfCancellationRequested();
            }
        }
    }
}
