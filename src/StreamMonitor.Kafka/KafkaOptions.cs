using System.ComponentModel.DataAnnotations;
using StreamMonitor.Contracts;

namespace StreamMonitor.Kafka;

/// <summary>
/// Connection and client settings for every StreamMonitor service (configuration section "Kafka").
/// <see cref="Client"/> is passed through to librdkafka unchanged, so SASL/SSL against a real cluster is
/// configuration only, e.g. Kafka__Client__security.protocol=SASL_SSL.
/// </summary>
public sealed class KafkaOptions
{
    /// <summary>Configuration section name.</summary>
    public const string SectionName = "Kafka";

    /// <summary>Comma-separated bootstrap servers.</summary>
    [Required(AllowEmptyStrings = false)]
    public string BootstrapServers { get; set; } = "";

    /// <summary>Topic names and partition counts.</summary>
    public TopicCatalog Topics { get; set; } = new();

    /// <summary>librdkafka properties applied to every client (security.protocol, sasl.*, ssl.*, ...).</summary>
    public Dictionary<string, string> Client { get; set; } = [];

    /// <summary>Consumer group session timeout; short in tests so a restarted member rejoins quickly.</summary>
    [DurationRange("1s", "5m"), RenamedFrom("SessionTimeoutMs", "ms")]
    public TimeSpan SessionTimeout { get; set; } = TimeSpan.FromSeconds(10);
}
