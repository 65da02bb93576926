using System.Globalization;
using System.Text;
using StreamMonitor.Influx;
using StreamMonitor.Kafka;
using Xunit;

namespace StreamMonitor.Testing;

/// <summary>
/// The aggregator service (services/aggregator, built, not referenced) as a separate process against an embedded
/// cluster's topic namespace: start it, kill -9 it repeatedly, and wait for its complete results on a compacted topic.
/// </summary>
public static class AggregatorProcess
{
    /// <summary>The aggregator's dll in the test binaries' build configuration.</summary>
    public static string DllPath => StreammonCli.ServiceDllPath("aggregator", "StreamMonitor.Aggregator");

    /// <summary>
    /// Starts the aggregator with the environment of <paramref name="kafka"/> plus <paramref name="settings"/>
    /// (environment variable names, e.g. Aggregator__CheckpointInterval), its output lines sent to <paramref name="onLine"/>.
    /// </summary>
    public static ServiceProcess Start(KafkaOptions kafka, IReadOnlyDictionary<string, string?> settings, Action<string>? onLine)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var environment = new Dictionary<string, string?>(EmbeddedKafkaFixture.EnvironmentFor(kafka));
        foreach (var (key, value) in settings)
        {
            environment[key] = value;
        }

        return ServiceProcess.Start(new ServiceProcessOptions(DllPath) { Environment = environment, OnLine = onLine });
    }

    /// <summary>
    /// Starts the aggregator for a crash/restart run: one consumer group per topic namespace (so instances started with
    /// the same options share the work), projecting to <paramref name="influx"/>, a checkpoint every
    /// <paramref name="checkpointEveryRecords"/> records or 200 ms, any free HTTP port; <paramref name="settings"/> adds to
    /// or overrides these.
    /// </summary>
    public static ServiceProcess Start(KafkaOptions kafka, InfluxOptions influx, int checkpointEveryRecords, Action<string>? onLine, IReadOnlyDictionary<string, string?>? settings = null)
    {
        ArgumentNullException.ThrowIfNull(kafka);
        ArgumentNullException.ThrowIfNull(influx);
        var environment = new Dictionary<string, string?>
        {
            ["Influx__Url"] = influx.Url,
            ["Influx__Database"] = influx.Database,
            ["Aggregator__ConsumerGroup"] = "agg-" + kafka.Topics.Suffix.Trim('.'),
            ["Aggregator__CheckpointEveryRecords"] = checkpointEveryRecords.ToString(CultureInfo.InvariantCulture),
            ["Aggregator__CheckpointInterval"] = "200ms",
            ["Urls"] = "http://127.0.0.1:0",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            environment[key] = value;
        }

        return Start(kafka, environment, onLine);
    }

    /// <summary>
    /// Kills <paramref name="process"/> with SIGKILL <paramref name="kills"/> times, each a random delay in
    /// [<paramref name="minDelayMs"/>, <paramref name="maxDelayMs"/>) after it logged a line containing
    /// <paramref name="resumingLine"/> (a processor of the Streams library took its partitions: "resuming at offset"),
    /// and restarts it with the same options. Returns the running process and how many of the killed runs' resuming
    /// lines restored a checkpoint ("(checkpoint True)"): zero means every kill came before the first checkpoint.
    /// <paramref name="ready"/>, when given, picks the line the delay starts from instead.
    /// </summary>
    public static async Task<(ServiceProcess Process, int ResumedFromCheckpoint)> KillRepeatedlyAsync(
        ServiceProcess process, string resumingLine, int kills, Random random, int minDelayMs, int maxDelayMs, Action<string> log, Func<string, bool>? ready = null)
    {
        ArgumentNullException.ThrowIfNull(process);
        ArgumentNullException.ThrowIfNull(random);
        ArgumentNullException.ThrowIfNull(log);
        var resumed = 0;
        for (var kill = 0; kill < kills; kill++)
        {
            await process.WaitForLineAsync(ready ?? (l => l.Contains(resumingLine, StringComparison.Ordinal)), TimeSpan.FromSeconds(60));
            await Task.Delay(random.Next(minDelayMs, maxDelayMs));
            process.Kill();
            log($"kill -9 #{kill + 1}");
            resumed += process.Lines.Count(l => l.Contains(resumingLine, StringComparison.Ordinal) && l.Contains("(checkpoint True)", StringComparison.Ordinal));
            var options = process.Options;
            await process.DisposeAsync();
            process = ServiceProcess.Start(options);
        }

        return (process, resumed);
    }

    /// <summary>
    /// Polls <paramref name="topic"/> (compacted: the latest value per key counts) until <paramref name="complete"/>
    /// holds for its latest values, and returns them. Fails when <paramref name="process"/> exits first, or when
    /// <paramref name="timeout"/> passes, with <paramref name="progress"/>'s account of the latest values.
    /// </summary>
    public static async Task<Dictionary<string, byte[]>> WaitForResultsAsync(
        EmbeddedKafkaFixture kafka,
        string topic,
        ServiceProcess process,
        TimeSpan timeout,
        Func<IReadOnlyDictionary<string, byte[]>, bool> complete,
        Func<IReadOnlyDictionary<string, byte[]>, string> progress)
    {
        ArgumentNullException.ThrowIfNull(kafka);
        ArgumentNullException.ThrowIfNull(process);
        ArgumentNullException.ThrowIfNull(complete);
        ArgumentNullException.ThrowIfNull(progress);
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var records = await kafka.ConsumeRawAllAsync(topic, TimeSpan.FromSeconds(30));
            var latest = new Dictionary<string, byte[]>(StringComparer.Ordinal);
            foreach (var record in records)
            {
                latest[Encoding.UTF8.GetString(record.Message.Key)] = record.Message.Value;
            }

            if (complete(latest))
            {
                return latest;
            }

            Assert.False(process.HasExited, $"the aggregator exited with {(process.HasExited ? process.ExitCode : 0)}");
            Assert.True(DateTime.UtcNow < deadline, progress(latest));
            await Task.Delay(500);
        }
    }
}
