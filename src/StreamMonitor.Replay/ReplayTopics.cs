using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Microsoft.Extensions.Logging;
using StreamMonitor.Kafka;

namespace StreamMonitor.Replay;

/// <summary>
/// Creates the topics of a replay namespace with the Admin API (compacted result topics compacted) and checks their
/// partition counts. librdkafka's mock cluster cannot create topics through the Admin API (the request times out
/// waiting for a controller); there every topic is auto-created (4 partitions) by asking for its metadata before any
/// service subscribes to it (a consumer's subscription does not create it, and the services stop on a missing topic),
/// and the check tells whether that matches the catalog.
/// </summary>
public static class ReplayTopics
{
    /// <summary>Creates what is missing; returns false when the Admin API did not answer and the topics were auto-created instead.</summary>
    public static async Task<bool> CreateAsync(KafkaOptions target, short replicationFactor, ILogger logger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(logger);
        using var admin = new AdminClientBuilder(KafkaClientConfig.Admin(target)).Build();
        var specs = target.Topics.Specifications(replicationFactor);
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
                logger.LogWarning("The cluster did not create the replay topics (a mock cluster cannot); creating them by auto-creation");
                await AutoCreateAsync(admin, target, cancellationToken);
                return false;
            }

            throw new KafkaException(failed[0].Error);
        }
        catch (Exception ex) when (ex is TimeoutException || (ex is KafkaException k && k.Error.Code is ErrorCode.RequestTimedOut or ErrorCode.Local_TimedOut))
        {
            logger.LogWarning("The cluster did not answer CreateTopics (a mock cluster cannot); creating the replay topics by auto-creation");
            await AutoCreateAsync(admin, target, cancellationToken);
            return false;
        }
    }

    /// <summary>
    /// Asks for each topic's metadata (a producer-side request, which lets the broker auto-create a missing topic)
    /// until every topic of the namespace exists, then checks the input topics' partition counts.
    /// </summary>
    private static async Task AutoCreateAsync(IAdminClient admin, KafkaOptions target, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        foreach (var topic in target.Topics.All)
        {
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var metadata = await Task.Run(() => admin.GetMetadata(topic.Name, TimeSpan.FromSeconds(10)), cancellationToken);
                if (metadata.Topics.Any(t => t.Topic == topic.Name && !t.Error.IsError && t.Partitions.Count > 0))
                {
                    break;
                }

                if (DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException($"{topic.Name} was neither created nor auto-created by the cluster (is auto.create.topics.enable off?); create the replay topics first.");
                }

                await Task.Delay(200, cancellationToken);
            }
        }

        CheckPartitions(target);
    }

    /// <summary>Throws when an input topic of the namespace has a partition count other than the catalog's.</summary>
    public static void CheckPartitions(KafkaOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        using var admin = new AdminClientBuilder(KafkaClientConfig.Admin(options)).Build();
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
