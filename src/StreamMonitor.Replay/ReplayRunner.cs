using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using StreamMonitor.Contracts;
using StreamMonitor.Kafka;
using StreamMonitor.Reports;
using StreamMonitor.Stack;

namespace StreamMonitor.Replay;

/// <summary>Settings of one replay.</summary>
/// <param name="FromMs">Start of the event-time range (inclusive).</param>
/// <param name="ToMs">End of the event-time range (exclusive).</param>
/// <param name="Namespace">Where the replay writes.</param>
/// <param name="Slack">Largest out-of-orderness of record times along a partition (search margin).</param>
/// <param name="ServiceSettings">Extra environment per service (the live services' settings: profiles, windows, SLO file).</param>
/// <param name="WorkDirectory">Folder for the services' logs.</param>
/// <param name="LabelHorizon">How long after <paramref name="ToMs"/> labels of the range's events are still copied (the aggregator's Quality:LabelHorizon).</param>
public sealed record ReplayRequest(long FromMs, long ToMs, ReplayNamespace Namespace, TimeSpan Slack, IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> ServiceSettings, string WorkDirectory, TimeSpan LabelHorizon);

/// <summary>What a replay did.</summary>
public sealed record ReplayOutcome(IReadOnlyList<PartitionCopy> Copies, ResultLog Results, TimeSpan Elapsed);

/// <summary>
/// Replays an event-time range through the aggregator's and alerter's logic in an isolated namespace: copies the input
/// range into suffixed topics, then runs the aggregator and the alerter as child processes with the suffix, a separate
/// InfluxDB database, suffixed consumer groups and checkpoint identities and no webhook, until each has consumed all
/// of its input and its output has been quiet for a while. Because every computation is in event time and the copy
/// keeps per-partition order, the replay's window results and alerts equal the live ones for the same input.
/// </summary>
public sealed class ReplayRunner
{
    private static readonly TimeSpan Quiet = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan NothingToSay = TimeSpan.FromSeconds(30);
    private readonly KafkaOptions _live;
    private readonly string _influxUrl;
    private readonly ILogger _logger;

    /// <summary>Creates a runner over the live namespace's Kafka settings and the InfluxDB URL the replay writes to.</summary>
    public ReplayRunner(KafkaOptions live, string influxUrl, ILogger logger)
    {
        _live = live ?? throw new ArgumentNullException(nameof(live));
        _influxUrl = influxUrl ?? throw new ArgumentNullException(nameof(influxUrl));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
    }

    /// <summary>Kafka settings of a replay namespace (the live settings with the suffix).</summary>
    public static KafkaOptions ReplayKafka(KafkaOptions live, string suffix)
    {
        ArgumentNullException.ThrowIfNull(live);
        return new KafkaOptions
        {
            BootstrapServers = live.BootstrapServers,
            Client = new Dictionary<string, string>(live.Client),
            SessionTimeout = live.SessionTimeout,
            Topics = new TopicCatalog
            {
                Prefix = live.Topics.Prefix,
                InputPartitions = live.Topics.InputPartitions,
                ResultPartitions = live.Topics.ResultPartitions,
                Suffix = suffix,
            },
        };
    }

    /// <summary>Copies the range and runs the aggregator then the alerter over it; <paramref name="copyProgress"/> and <paramref name="stage"/> report progress.</summary>
    public async Task<ReplayOutcome> RunAsync(ReplayRequest request, IProgress<CopyProgress>? copyProgress, IProgress<string>? stage, Func<KafkaOptions, CancellationToken, Task>? beforeServices, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var started = DateTime.UtcNow;
        var target = ReplayKafka(_live, request.Namespace.Suffix);
        stage?.Report("copying the event-time range");
        var copier = new RangeCopier(_live, target, _logger);
        var copies = await copier.CopyAsync(request.FromMs, request.ToMs, request.LabelHorizon, request.Slack, includePredictions: beforeServices is null, copyProgress, cancellationToken);
        if (beforeServices is not null)
        {
            stage?.Report("re-scoring the features");
            await beforeServices(target, cancellationToken);
        }

        var logs = Path.Combine(request.WorkDirectory, "logs");
        using var results = new ResultTopicReader(target, _logger);
        foreach (var (service, outputs) in new[] { ("aggregator", "window results"), ("alerter", "alerts") })
        {
            stage?.Report($"running the {service} over the replayed range");
            var env = Environment(service, target, request);
            var url = new Uri($"http://127.0.0.1:{LocalPorts.Free()}");
            env["Urls"] = url.ToString().TrimEnd('/');
            var dll = ServicePaths.ServiceDll(service);
            await using var child = ChildService.StartDotnet($"{service}{request.Namespace.Suffix}", dll, [], env, Path.GetDirectoryName(dll)!, logs, _logger);
            await child.WaitHealthyAsync(new Uri(url, "/healthz"), TimeSpan.FromSeconds(90), cancellationToken);
            await WaitConsumedAsync(child, target, service == "aggregator" ? AggregatorGroups(env, target) : [], results, cancellationToken);
            _logger.LogInformation("Replay {Service} done: {Outputs} settled", service, outputs);
            await child.StopAsync(TimeSpan.FromSeconds(15));
        }

        results.CatchUp(TimeSpan.FromSeconds(30), cancellationToken);
        return new ReplayOutcome(copies, results.Log, DateTime.UtcNow - started);
    }

    private Dictionary<string, string> Environment(string service, KafkaOptions target, ReplayRequest request)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["Kafka__BootstrapServers"] = target.BootstrapServers,
            ["Kafka__SessionTimeout"] = Durations.Format(target.SessionTimeout),
            ["Kafka__Topics__Suffix"] = request.Namespace.Suffix,
            ["Influx__Url"] = _influxUrl,
            ["Influx__Database"] = request.Namespace.InfluxDatabase,
            ["DOTNET_gcServer"] = "0",
        };
        foreach (var (key, value) in target.Client)
        {
            env["Kafka__Client__" + key] = value;
        }

        if (request.ServiceSettings.TryGetValue(service, out var settings))
        {
            foreach (var (key, value) in settings)
            {
                env[key] = value;
            }
        }

        // Isolation: own consumer group and checkpoint identity; a replay never notifies anyone.
        if (service == "aggregator")
        {
            env["Aggregator__ConsumerGroup"] = (settings?.GetValueOrDefault("Aggregator__ConsumerGroup") ?? "streammon-aggregator") + request.Namespace.Suffix;
        }
        else
        {
            env["Alerter__EvaluatorId"] = (settings?.GetValueOrDefault("Alerter__EvaluatorId") ?? "alerter") + request.Namespace.Suffix;
            env["Alerter__WebhookUrl"] = "";
        }

        return env;
    }

    /// <summary>
    /// The aggregator's consumer groups in the order their input completes, with the topics each reads (see
    /// AggregatorWorker): stage A over the inputs, the label repartition step ("{group}-labels") over labels and the
    /// quality join ("{group}-quality") over predictions and labels-by-id (both unless Aggregator__Quality__Enabled is
    /// false), then the merge ("{group}-merge") over the
    /// window partials the other two write.
    /// </summary>
    private static List<(string Group, List<TopicPartition> Partitions)> AggregatorGroups(Dictionary<string, string> env, KafkaOptions target)
    {
        List<TopicPartition> Partitions(int count, params string[] topics) =>
            topics.SelectMany(t => Enumerable.Range(0, count).Select(p => new TopicPartition(t, p))).ToList();
        var topics = target.Topics;
        var group = env["Aggregator__ConsumerGroup"];
        var groups = new List<(string Group, List<TopicPartition> Partitions)> { (group, Partitions(topics.InputPartitions, topics.Predictions, topics.Labels, topics.Features)) };
        var quality = env.GetValueOrDefault("Aggregator__Quality__Enabled") ?? System.Environment.GetEnvironmentVariable("Aggregator__Quality__Enabled");
        if (!string.Equals(quality, "false", StringComparison.OrdinalIgnoreCase))
        {
            groups.Add((group + "-labels", Partitions(topics.InputPartitions, topics.Labels)));
            groups.Add((group + "-quality", Partitions(topics.InputPartitions, topics.Predictions, topics.LabelsById)));
        }

        groups.Add((group + "-merge", Partitions(topics.ResultPartitions, topics.WindowPartials)));
        return groups;
    }

    /// <summary>
    /// Waits until the service has consumed its input: for the aggregator, each of its groups' committed offsets reach
    /// the end of the partitions it reads (the inputs first, then the window partials the inputs produced); for both
    /// services, the result topics then stay quiet for a few seconds. (Quiet alone is not enough: on a busy machine the
    /// merge stage can lag behind stage A by more than the quiet period.)
    /// </summary>
    private async Task WaitConsumedAsync(ChildService child, KafkaOptions target, List<(string Group, List<TopicPartition> Partitions)> groups, ResultTopicReader results, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(10);
        for (var i = 0; i < groups.Count; i++)
        {
            await WaitCommittedAsync(child, target, groups[i].Group, groups[i].Partitions, first: i == 0, deadline, cancellationToken);
        }

        // Quiet only counts once output has started (or a service with nothing to say had time to say it).
        var started = DateTime.UtcNow;
        var seen = false;
        var quietSince = DateTime.UtcNow;
        while (!(DateTime.UtcNow - quietSince >= Quiet && (seen || DateTime.UtcNow - started >= NothingToSay)))
        {
            Fail(child);
            await Task.Delay(500, cancellationToken);
            if (results.CatchUp(TimeSpan.FromSeconds(2), cancellationToken) > 0)
            {
                seen = true;
                quietSince = DateTime.UtcNow;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{child.Name} kept producing results for 10 minutes; see {child.LogPath}.");
            }
        }
    }

    /// <summary>
    /// Waits until <paramref name="group"/> has committed at least one partition and every committed partition is at its
    /// end. Partitions the group never commits are not waited for: they are topics the service does not read with its
    /// settings (stage A reads labels only for some topologies). A group other than the first that commits nothing
    /// within <see cref="NothingToSay"/> is taken as not running (its topology disabled).
    /// </summary>
    private async Task WaitCommittedAsync(ChildService child, KafkaOptions target, string group, List<TopicPartition> partitions, bool first, DateTime deadline, CancellationToken cancellationToken)
    {
        var config = KafkaClientConfig.Consumer(target, group, "streammon-replay-lag");
        using var probe = new ConsumerBuilder<byte[], byte[]>(config).Build();
        var started = DateTime.UtcNow;
        while (true)
        {
            Fail(child);
            cancellationToken.ThrowIfCancellationRequested();
            long lag = 0;
            var any = false;
            foreach (var c in probe.Committed(partitions, TimeSpan.FromSeconds(10)).Where(c => !c.Offset.IsSpecial))
            {
                any = true;
                lag += Math.Max(0, probe.QueryWatermarkOffsets(c.TopicPartition, TimeSpan.FromSeconds(10)).High.Value - c.Offset.Value);
            }

            if (any && lag == 0)
            {
                return;
            }

            if (!any && !first && DateTime.UtcNow - started >= NothingToSay)
            {
                _logger.LogInformation("Replay: group {Group} committed nothing in {Seconds} s; not waiting for it", group, NothingToSay.TotalSeconds);
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{child.Name} (group {group}) still had {lag} records to consume after 10 minutes; see {child.LogPath}.");
            }

            await Task.Delay(500, cancellationToken);
        }
    }

    private static void Fail(ChildService child)
    {
        if (child.HasExited)
        {
            throw new InvalidOperationException($"{child.Name} exited during the replay; last output:{System.Environment.NewLine}{string.Join(System.Environment.NewLine, child.Tail.TakeLast(30))}");
        }
    }
}
