using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Microsoft.Extensions.Logging;
using StreamMonitor.Kafka;

namespace StreamMonitor.Replay;

/// <summary>
/// Creates the topics of a replay namespace with the Admin API (compacted result topics compacted) and checks their
/// partition counts. librdkafka's mock cluster cannot create topics through the Admin API (the request times out
/// waiting for a controller); there the topics are auto-created with 4 partitions on first use, and the check tells
/// whether that matches the catalog.
/// </summary>
public static class ReplayTopics
{
    /// <summary>Creates what is missing; returns false when the Admin API did not answer (auto-creation is relied on).</summary>
    public static async Task<bool> CreateAsync(KafkaOptions target, short replicationFactor, ILogger logger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(logger);
        KafkaNative.EnsureLoaded();
        var config = new AdminClientConfig(new Dictionary<string, string>(target.Client)) { BootstrapServers = target.BootstrapServers };
        using var admin = new AdminClientBuilder(config).Build();
        var specs = target.Topics.All.Select(t => new TopicSpecification
        {
            Name = t.Name,
            NumPartitions = t.Partitions,
            ReplicationFactor = replicationFactor,
            Configs = t.Compacted ? new Dictionary<string, string> { ["cleanup.policy"] = "compact" } : null,
        }).ToList();
        try
        {
            await admin.CreateTopicsAsync(specs, new CreateTopicsOptions { RequestTimeout = TimeSpan.FromSeconds(10), OperationTimeout = TimeSpan.FromSeconds(10) }).WaitAsync(TimeSpan.FromSeconds(15), cancellationToken);
            return true;
        }
        catch (CreateTopicsException ex)
        {
            var failed = ex.Results.Where(r => r.Error.IsError && r.Error.Code != ErrorCode.TopicAlreadyExists).ToList();
            if (failed.Count == 0)
            {
                return true;
            }

            if (failed.All(r => r.Error.Code is ErrorCode.RequestTimedOut or ErrorCode.Local_TimedOut))
            {
                logger.LogWarning("The cluster did not create the replay topics (a mock cluster cannot); relying on auto-creation");
                return false;
            }

            throw new KafkaException(failed[0].Error);
        }
        catch (TimeoutException)
        {
            logger.LogWarning("The cluster did not answer CreateTopics (a mock cluster cannot); relying on auto-creation");
            return false;
        }
        catch (KafkaException ex) when (ex.Error.Code is ErrorCode.RequestTimedOut or ErrorCode.Local_TimedOut)
        {
            logger.LogWarning("The cluster did not answer CreateTopics (a mock cluster cannot); relying on auto-creation");
            return false;
        }
    }

    /// <summary>Throws when an input topic of the namespace has a partition count other than the catalog's.</summary>
    public static void CheckPartitions(KafkaOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        KafkaNative.EnsureLoaded();
        var config = new AdminClientConfig(new Dictionary<string, string>(options.Client)) { BootstrapServers = options.BootstrapServers };
        using var admin = new AdminClientBuilder(config).Build();
        foreach (var topic in new[] { options.Topics.Features, options.Topics.Predictions, options.Topics.Labels })
        {
            var metadata = admin.GetMetadata(topic, TimeSpan.FromSeconds(10));
            var count = metadata.Topics.SingleOrDefault(t => t.Topic == topic)?.Partitions.Count ?? 0;
            if (count != options.Topics.InputPartitions)
            {
                throw new InvalidOperationException($"{topic} has {count} partitions, the catalog says {options.Topics.InputPartitions}: the replay would not keep per-partition order.");
            }
        }
    }
}
