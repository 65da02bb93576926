using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using StreamMonitor.Contracts;
using StreamMonitor.Kafka;

namespace StreamMonitor.Reports;

/// <summary>
/// Reads the result topics of one namespace (live or a replay suffix) from the beginning into a <see cref="ResultLog"/>.
/// It assigns partitions directly (no consumer group, nothing committed), so any number of readers can look at the
/// same namespace. <see cref="CatchUp"/> can be called repeatedly (the live view) and reads only what is new.
/// </summary>
public sealed class ResultTopicReader : IDisposable
{
    private readonly IConsumer<string, byte[]> _consumer;
    private readonly EventCodec _codec = new();
    private readonly TopicCatalog _topics;
    private readonly Dictionary<TopicPartition, long> _positions = [];
    private readonly ILogger _logger;

    /// <summary>Creates a reader over the namespace of <paramref name="kafka"/>'s topic catalog.</summary>
    public ResultTopicReader(KafkaOptions kafka, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(kafka);
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        _topics = kafka.Topics;
        var config = KafkaClientConfig.Consumer(kafka, "streammon-results-reader-" + Guid.NewGuid().ToString("N"), "streammon-results-reader");

        // Many small partitions: do not let the broker hold an empty fetch for the default 500 ms.
        config.FetchWaitMaxMs = 50;
        _consumer = new ConsumerBuilder<string, byte[]>(config).Build();
        var partitions = new List<TopicPartitionOffset>();
        foreach (var topic in Topics)
        {
            for (var p = 0; p < _topics.ResultPartitions; p++)
            {
                var tp = new TopicPartition(topic, p);
                partitions.Add(new TopicPartitionOffset(tp, Offset.Beginning));
                _positions[tp] = 0;
            }
        }

        _consumer.Assign(partitions);
    }

    /// <summary>The view filled so far.</summary>
    public ResultLog Log { get; } = new();

    private IEnumerable<string> Topics => [_topics.LatencyResults, _topics.DriftResults, _topics.QualityResults, _topics.SloStatus, _topics.Alerts];

    /// <summary>
    /// Reads until every partition reaches the high watermark it had when the call started, or the time runs out.
    /// Returns the number of records read.
    /// </summary>
    public int CatchUp(TimeSpan maxWait, CancellationToken cancellationToken)
    {
        var targets = new Dictionary<TopicPartition, long>();
        foreach (var tp in _positions.Keys)
        {
            try
            {
                // Cached from fetch responses once the partition is being fetched; a broker round trip before that.
                var cached = _consumer.GetWatermarkOffsets(tp);
                var w = cached.High.IsSpecial ? _consumer.QueryWatermarkOffsets(tp, TimeSpan.FromSeconds(5)) : cached;
                if (w.High.Value > _positions[tp])
                {
                    targets[tp] = w.High.Value;
                }
            }
            catch (KafkaException ex)
            {
                _logger.LogDebug("No watermarks for {Partition}: {Reason}", tp, ex.Error.Reason);
            }
        }

        var deadline = DateTime.UtcNow + maxWait;
        var read = 0;
        while (targets.Count > 0 && DateTime.UtcNow < deadline)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var result = _consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (result is null || result.IsPartitionEOF)
            {
                continue;
            }

            _positions[result.TopicPartition] = result.Offset.Value + 1;
            if (targets.TryGetValue(result.TopicPartition, out var target) && result.Offset.Value + 1 >= target)
            {
                targets.Remove(result.TopicPartition);
            }

            Apply(result.Topic, result.Message);
            read++;
        }

        return read;
    }

    private void Apply(string topic, Message<string, byte[]> message)
    {
        if (message.Value is null)
        {
            return;
        }

        try
        {
            if (topic == _topics.LatencyResults)
            {
                var r = _codec.Deserialize<LatencyWindowResult>(message.Value);
                Log.Latency[r.Key] = r;
            }
            else if (topic == _topics.DriftResults)
            {
                var r = _codec.Deserialize<DriftWindowResult>(message.Value);
                Log.Drift[r.Key] = r;
            }
            else if (topic == _topics.QualityResults)
            {
                var r = _codec.Deserialize<QualityWindowResult>(message.Value);
                Log.Quality[r.Key] = r;
            }
            else if (topic == _topics.SloStatus)
            {
                var r = _codec.Deserialize<SloStatus>(message.Value);
                Log.SloLatest[message.Key ?? r.Slo] = r;
                Log.SloHistory.Add(r);
            }
            else if (topic == _topics.Alerts)
            {
                var r = _codec.Deserialize<Alert>(message.Value);
                Log.AlertLatest[r.AlertId] = r;
                Log.AlertHistory.Add(r);
            }
        }
        catch (EventDecodeException ex)
        {
            Log.CountUndecodable(topic);
            _logger.LogWarning("Undecodable record on {Topic}: {Reason} {Message}", topic, ex.ReasonCode, ex.Message);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _consumer.Close();
        _consumer.Dispose();
    }
}
