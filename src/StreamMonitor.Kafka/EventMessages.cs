using System.Text;
using Confluent.Kafka;
using StreamMonitor.Contracts;

namespace StreamMonitor.Kafka;

/// <summary>
/// The one wire convention for events: the key is the UTF-8 string key (event id, window key, alert id), the value
/// the <see cref="EventCodec"/> single-object encoding. Producers and consumers use byte[] for both so that
/// undecodable records can be dead-lettered byte for byte.
/// </summary>
public static class EventMessages
{
    /// <summary>A message for an event keyed by <paramref name="key"/>.</summary>
    public static Message<byte[], byte[]> Create<T>(EventCodec codec, string key, T value, Headers? headers = null)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(codec);
        ArgumentNullException.ThrowIfNull(key);
        return new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes(key), Value = codec.Serialize(value), Headers = headers };
    }

    /// <summary>The UTF-8 key of a message (empty when it has none).</summary>
    public static string KeyString(this Message<byte[], byte[]> message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return message.Key is null ? "" : Encoding.UTF8.GetString(message.Key);
    }

    /// <summary>Encodes and produces an event, awaiting the cluster's acknowledgement.</summary>
    public static Task<DeliveryResult<byte[], byte[]>> ProduceEventAsync<T>(this IProducer<byte[], byte[]> producer, EventCodec codec, string topic, string key, T value, CancellationToken cancellationToken = default)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(producer);
        return producer.ProduceAsync(topic, Create(codec, key, value), cancellationToken);
    }
}
