using System.CommandLine;
using System.Globalization;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using StreamMonitor.Kafka;
using StreamMonitor.Kafka.Embedded;

namespace StreamMonitor.Cli.Commands;

/// <summary>`streammon kafka`: the embedded (mock) cluster and topic set-up on a real cluster.</summary>
public static class KafkaCommand
{
    /// <summary>The `kafka` verb with its sub-verbs.</summary>
    public static Command Create()
    {
        var kafka = new Command("kafka", "Kafka: run an embedded cluster, create the StreamMonitor topics.");
        kafka.Add(CreateUp());
        kafka.Add(CreateTopics());
        kafka.Add(CreateCheck());
        return kafka;
    }

    private static Command CreateUp()
    {
        var brokers = new Option<int>("--brokers") { Description = "Number of brokers.", DefaultValueFactory = _ => 3 };
        var bootstrapFile = new Option<FileInfo?>("--bootstrap-file") { Description = "Write the bootstrap servers to this file once the cluster is up." };
        var controlUrlFile = new Option<FileInfo?>("--control-url-file") { Description = "Write the URL of the fault-injection control API to this file." };
        var partitions = new Option<int?>("--partitions") { Description = "Partition count of every topic (default: the topic catalog's)." };
        var suffix = new Option<string>("--suffix") { Description = "Topic-name suffix (replay namespace).", DefaultValueFactory = _ => "" };
        var parentPid = new Option<int?>("--parent-pid") { Description = "Stop when this process exits (test fixtures pass their own id)." };
        var up = new Command("up", "Start librdkafka's mock cluster in this process, create every StreamMonitor topic, print the bootstrap servers and stay up until Ctrl-C or SIGTERM.")
        {
            brokers, bootstrapFile, controlUrlFile, partitions, suffix, parentPid,
        };
        up.SetAction(async (parse, cancellationToken) =>
        {
            var brokerCount = parse.GetValue(brokers);
            if (brokerCount < 1)
            {
                await Console.Error.WriteLineAsync("--brokers must be at least 1.");
                return 2;
            }

            var catalog = new TopicCatalog { Suffix = parse.GetValue(suffix) ?? "" };
            if (parse.GetValue(partitions) is { } p)
            {
                if (p < 1)
                {
                    await Console.Error.WriteLineAsync("--partitions must be at least 1.");
                    return 2;
                }

                catalog.InputPartitions = p;
                catalog.ResultPartitions = p;
            }

            using var loggers = CliLogging.Create();
            var logger = loggers.CreateLogger("streammon.kafka");
            using var cluster = MockCluster.Start(brokerCount);
            foreach (var topic in catalog.All)
            {
                cluster.CreateTopic(topic.Name, topic.Partitions, Math.Min(3, brokerCount));
            }

            await using var control = MockClusterControlServer.Start(cluster, logger);
            var written = new List<FileInfo>();
            try
            {
                if (parse.GetValue(bootstrapFile) is { } bf)
                {
                    await WriteAtomicallyAsync(bf, cluster.BootstrapServers, cancellationToken);
                    written.Add(bf);
                }

                if (parse.GetValue(controlUrlFile) is { } cf)
                {
                    await WriteAtomicallyAsync(cf, control.Url.ToString(), cancellationToken);
                    written.Add(cf);
                }

                Console.WriteLine($"Bootstrap servers: {cluster.BootstrapServers}");
                Console.WriteLine($"Control API: {control.Url}");
                Console.WriteLine($"Embedded Kafka cluster up: {brokerCount} broker(s), {catalog.All.Count} topics. Ctrl-C or SIGTERM stops it.");
                await WaitForStopAsync(parse.GetValue(parentPid), cancellationToken);
                logger.LogInformation("Stopping the embedded Kafka cluster");
                return 0;
            }
            finally
            {
                foreach (var file in written)
                {
                    file.Delete();
                }
            }
        });
        return up;
    }

    private static Command CreateTopics()
    {
        var bootstrap = new Option<string?>("--bootstrap-servers") { Description = "Bootstrap servers (default: Kafka__BootstrapServers)." };
        var partitions = new Option<int?>("--partitions") { Description = "Partition count of every topic (default: the topic catalog's)." };
        var replication = new Option<short>("--replication-factor") { Description = "Replication factor.", DefaultValueFactory = _ => 3 };
        var suffix = new Option<string?>("--suffix") { Description = "Topic-name suffix (replay namespace)." };
        var client = new Option<string[]>("--client") { Description = "librdkafka setting key=value passed through (repeatable; also Kafka__Client__<key> env vars), e.g. security.protocol=SASL_SSL.", AllowMultipleArgumentsPerToken = false };
        var topics = new Command("topics", "Create every StreamMonitor topic on an existing Kafka cluster with the Admin API (compacted ones with cleanup.policy=compact); existing topics are kept.")
        {
            bootstrap, partitions, replication, suffix, client,
        };
        topics.SetAction(async (parse, cancellationToken) =>
        {
            var options = new KafkaOptions();
            new ConfigurationBuilder().AddEnvironmentVariables().Build().GetSection(KafkaOptions.SectionName).Bind(options);
            options.BootstrapServers = parse.GetValue(bootstrap) ?? options.BootstrapServers;
            if (parse.GetValue(suffix) is { } s)
            {
                options.Topics.Suffix = s;
            }

            if (parse.GetValue(partitions) is { } p)
            {
                options.Topics.InputPartitions = p;
                options.Topics.ResultPartitions = p;
            }

            foreach (var setting in parse.GetValue(client) ?? [])
            {
                var eq = setting.IndexOf('=', StringComparison.Ordinal);
                if (eq <= 0)
                {
                    await Console.Error.WriteLineAsync($"--client expects key=value, got '{setting}'.");
                    return 2;
                }

                options.Client[setting[..eq]] = setting[(eq + 1)..];
            }

            if (string.IsNullOrWhiteSpace(options.BootstrapServers))
            {
                await Console.Error.WriteLineAsync("No bootstrap servers: pass --bootstrap-servers or set Kafka__BootstrapServers.");
                return 2;
            }

            using var admin = new AdminClientBuilder(KafkaClientConfig.Admin(options)).Build();
            var specs = options.Topics.Specifications(parse.GetValue(replication));
            try
            {
                await admin.CreateTopicsAsync(specs, new CreateTopicsOptions { RequestTimeout = TimeSpan.FromSeconds(30) }).WaitAsync(cancellationToken);
                Console.WriteLine($"Created {specs.Count} topics.");
            }
            catch (CreateTopicsException ex)
            {
                var failed = ex.Results.Where(r => r.Error.IsError && r.Error.Code != ErrorCode.TopicAlreadyExists).ToList();
                foreach (var r in ex.Results)
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{r.Topic}: {(r.Error.IsError ? r.Error.Reason : "created")}"));
                }

                if (failed.Count > 0)
                {
                    return 1;
                }
            }

            return 0;
        });
        return topics;
    }

    private static Command CreateCheck()
    {
        var bootstrap = new Option<string?>("--bootstrap-servers") { Description = "Bootstrap servers (default: Kafka__BootstrapServers)." };
        var bootstrapFile = new Option<FileInfo?>("--bootstrap-file") { Description = "Read the bootstrap servers from this file (as written by `kafka up`)." };
        var suffix = new Option<string?>("--suffix") { Description = "Topic-name suffix (replay namespace)." };
        var check = new Command("check", "Connect to a cluster, list its brokers and verify that every StreamMonitor topic exists with its catalog partition count (exit code 1 if not).")
        {
            bootstrap, bootstrapFile, suffix,
        };
        check.SetAction(async (parse, cancellationToken) =>
        {
            var options = new KafkaOptions();
            new ConfigurationBuilder().AddEnvironmentVariables().Build().GetSection(KafkaOptions.SectionName).Bind(options);
            if (parse.GetValue(bootstrapFile) is { } file)
            {
                options.BootstrapServers = (await File.ReadAllTextAsync(file.FullName, cancellationToken)).Trim();
            }

            options.BootstrapServers = parse.GetValue(bootstrap) ?? options.BootstrapServers;
            options.Topics.Suffix = parse.GetValue(suffix) ?? options.Topics.Suffix;
            if (string.IsNullOrWhiteSpace(options.BootstrapServers))
            {
                await Console.Error.WriteLineAsync("No bootstrap servers: pass --bootstrap-servers, --bootstrap-file or set Kafka__BootstrapServers.");
                return 2;
            }

            KafkaNative.EnsureLoaded();
            using var admin = new AdminClientBuilder(KafkaClientConfig.Admin(options)).Build();
            var metadata = await Task.Run(() => admin.GetMetadata(TimeSpan.FromSeconds(20)), cancellationToken);
            Console.WriteLine($"Brokers: {string.Join(", ", metadata.Brokers.Select(b => $"{b.BrokerId}@{b.Host}:{b.Port}"))}");
            var byName = metadata.Topics.ToDictionary(t => t.Topic, StringComparer.Ordinal);
            var problems = 0;
            foreach (var topic in options.Topics.All)
            {
                var found = byName.TryGetValue(topic.Name, out var t) && !t.Error.IsError ? t.Partitions.Count : 0;
                var ok = found == topic.Partitions;
                problems += ok ? 0 : 1;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {(ok ? "ok     " : "MISSING")} {topic.Name} ({found}/{topic.Partitions} partitions)"));
            }

            Console.WriteLine(problems == 0 ? "Kafka check passed." : $"Kafka check failed: {problems} topic(s) missing or with another partition count.");
            return problems == 0 ? 0 : 1;
        });
        return check;
    }

    private static async Task WriteAtomicallyAsync(FileInfo file, string content, CancellationToken cancellationToken)
    {
        // Readers poll for the file: they must never see it half-written.
        file.Directory?.Create();
        var temp = file.FullName + ".tmp";
        await File.WriteAllTextAsync(temp, content, cancellationToken);
        File.Move(temp, file.FullName, overwrite: true);
    }

    private static async Task WaitForStopAsync(int? parentPid, CancellationToken cancellationToken)
    {
        if (parentPid is null)
        {
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            catch (OperationCanceledException)
            {
            }

            return;
        }

        System.Diagnostics.Process parent;
        try
        {
            parent = System.Diagnostics.Process.GetProcessById(parentPid.Value);
        }
        catch (ArgumentException)
        {
            return; // The parent is already gone.
        }

        using (parent)
        {
            try
            {
                await parent.WaitForExitAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }
}
