using System.Globalization;
using System.Text;
using Confluent.Kafka;
using StreamMonitor.Contracts;
using StreamMonitor.Kafka;

namespace StreamMonitor.Aggregator.Tests;

/// <summary>Rows of a CSV data set (numeric columns, a "label" column left out) as feature events on the features topic.</summary>
public static class CsvFeatureEvents
{
    /// <summary>
    /// Produces <paramref name="row"/>, a line of a CSV file with the columns <paramref name="header"/>, as a feature
    /// event of <paramref name="model"/> at <paramref name="eventTimeMs"/>, keyed by <paramref name="eventId"/>, stamped
    /// <paramref name="timestampMs"/> (default: the producer's clock).
    /// </summary>
    public static void Produce(IProducer<byte[], byte[]> producer, EventCodec codec, TopicCatalog topics, string[] header, string row, string model, long eventTimeMs, string eventId, long? timestampMs = null)
    {
        ArgumentNullException.ThrowIfNull(producer);
        ArgumentNullException.ThrowIfNull(codec);
        ArgumentNullException.ThrowIfNull(topics);
        ArgumentNullException.ThrowIfNull(header);
        ArgumentNullException.ThrowIfNull(row);
        var values = row.Split(',');
        var features = new Dictionary<string, double?>(StringComparer.Ordinal);
        for (var c = 0; c < header.Length; c++)
        {
            if (header[c] != "label")
            {
                features[header[c]] = double.Parse(values[c], CultureInfo.InvariantCulture);
            }
        }

        var feature = new FeatureEvent { EventId = eventId, ModelName = model, EventTimeMs = eventTimeMs, Features = features };
        var message = new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes(eventId), Value = codec.Serialize(feature) };
        if (timestampMs is { } timestamp)
        {
            message.Timestamp = new Timestamp(timestamp, TimestampType.CreateTime);
        }

        producer.Produce(topics.Features, message);
    }
}
