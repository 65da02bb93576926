using System.Globalization;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using StreamMonitor.Contracts;
using StreamMonitor.Kafka;
using StreamMonitor.Models.Inference;

namespace StreamMonitor.Models.Batch;

/// <summary>Predictions to a Kafka topic, keyed by event id; <see cref="Complete"/> waits for every acknowledgement.</summary>
public sealed class TopicPredictionSink : IPredictionSink
{
    private readonly IProducer<byte[], byte[]> _producer;
    private readonly string _topic;
    private readonly PredictionEncoder _encoder = new(new EventCodec());
    private readonly Action<DeliveryReport<byte[], byte[]>> _onDelivery;
    private long _failed;
    private string? _firstError;

    /// <summary>Creates a sink with its own producer, batching for throughput.</summary>
    public TopicPredictionSink(KafkaOptions options, string topic)
    {
        ArgumentNullException.ThrowIfNull(options);
        var config = KafkaClientConfig.Producer(options, "streammon-score");
        config.LingerMs = 20;
        config.BatchSize = 1_000_000;
        config.QueueBufferingMaxMessages = 1_000_000;
        _producer = new ProducerBuilder<byte[], byte[]>(config).Build();
        _topic = topic;
        _onDelivery = report =>
        {
            if (report.Error.IsError)
            {
                Interlocked.Increment(ref _failed);
                Interlocked.CompareExchange(ref _firstError, report.Error.Reason, null);
            }
        };
    }

    /// <inheritdoc />
    public void Write(Prediction prediction)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        var message = new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes(prediction.EventId), Value = _encoder.Encode(prediction) };
        while (true)
        {
            try
            {
                _producer.Produce(_topic, message, _onDelivery);
                return;
            }
            catch (ProduceException<byte[], byte[]> ex) when (ex.Error.Code == ErrorCode.Local_QueueFull)
            {
                _producer.Flush(TimeSpan.FromMilliseconds(50));
            }
        }
    }

    /// <inheritdoc />
    public void Complete()
    {
        var left = _producer.Flush(TimeSpan.FromSeconds(60));
        if (left > 0 || Interlocked.Read(ref _failed) > 0)
        {
            throw new InvalidOperationException($"{left} predictions unacknowledged and {_failed} failed on {_topic}: {_firstError}");
        }
    }

    /// <inheritdoc />
    public void Dispose() => _producer.Dispose();
}

/// <summary>Predictions to a file: CSV (.csv) or JSON lines (any other extension).</summary>
public sealed class FilePredictionSink : IPredictionSink
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
    private readonly StreamWriter _writer;
    private readonly bool _csv;

    /// <summary>Creates (or replaces) the file.</summary>
    public FilePredictionSink(string path)
    {
        _csv = string.Equals(Path.GetExtension(path), ".csv", StringComparison.OrdinalIgnoreCase);
        _writer = new StreamWriter(path, append: false, new UTF8Encoding(false), bufferSize: 1 << 16);
        if (_csv)
        {
            _writer.Write("event_id,model_name,model_version,model_hash,status,score,predicted_class,error_reason,batch_size,inference_us,e2e_us\n");
        }
    }

    /// <inheritdoc />
    public void Write(Prediction prediction)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        if (!_csv)
        {
            _writer.Write(JsonSerializer.Serialize(prediction, Json));
            _writer.Write('\n');
            return;
        }

        var c = CultureInfo.InvariantCulture;
        _writer.Write(string.Join(',',
            Quote(prediction.EventId), Quote(prediction.ModelName), Quote(prediction.ModelVersion), prediction.ModelHash, prediction.Status,
            prediction.Score?.ToString("R", c) ?? "", prediction.PredictedClass?.ToString(c) ?? "", Quote(prediction.ErrorReason ?? ""),
            prediction.Timing.BatchSize.ToString(c), prediction.Timing.InferenceUs.ToString(c), prediction.Timing.E2eUs.ToString(c)));
        _writer.Write('\n');
    }

    /// <inheritdoc />
    public void Complete() => _writer.Flush();

    /// <inheritdoc />
    public void Dispose() => _writer.Dispose();

    private static string Quote(string value) =>
        value.AsSpan().IndexOfAny(",\"\n") < 0 ? value : "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}
