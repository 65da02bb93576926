using System.Globalization;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.Validation;
using StreamMonitor.Demo;
using StreamMonitor.Kafka;
using StreamMonitor.Models.Training;
using StreamMonitor.Replay;
using StreamMonitor.Reports;
using StreamMonitor.Traffic;
using Xunit.Abstractions;

namespace StreamMonitor.EndToEnd.Tests;

/// <summary>
/// Issue #11's acceptance test, as a user's careless or hostile producers would run it: the three services run as
/// separate processes in two namespaces of one embedded cluster, with a real influxd. Both namespaces get the same
/// good traffic; the "hostile" one first gets the 150-plus records of <see cref="HostileCorpus"/> on every topic the
/// services read. Afterwards every service is alive, each bad record has exactly one dead letter with its reason, the
/// accepted ERROR predictions count in the "_unknown" bucket, and the good traffic's results equal the clean run's
/// apart from the rejected records.
/// </summary>
public sealed class HostileCorpusTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly string _work = Path.Combine(Path.GetTempPath(), "streammon-hostile-" + Guid.NewGuid().ToString("N"));
    private ILoggerFactory _loggers = null!;

    public Task InitializeAsync()
    {
        _loggers = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Warning));
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        _loggers.Dispose();
        try
        {
            Directory.Delete(_work, recursive: true);
        }
        catch (IOException)
        {
            // A child may still hold a log file for a moment; the folder is under the temp directory.
        }

        return Task.CompletedTask;
    }

    [Fact]
    public async Task After_the_hostile_corpus_every_service_lives_each_bad_record_has_one_dead_letter_and_good_traffic_is_exact()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(9));
        var ct = timeout.Token;
        var logger = _loggers.CreateLogger("hostile-corpus");
        var options = new DemoOptions
        {
            Duration = TimeSpan.FromSeconds(12),
            RatePerSecond = 40,
            TimeCompression = 60,
            Interactive = false,
            WorkDirectory = _work,
            DataSet = RepoPaths.DataSet,
            SloFile = Path.Combine(RepoPaths.Root, "config", "demo-slos.yaml"),
            DashboardsDirectory = DashboardFiles.Directory,
        };
        await using var stack = await DemoStack.StartInfrastructureAsync(options, _loggers, ct);
        var models = DemoModels.Prepare(options, stack.WorkDirectory, logger);
        var heldOut = Dataset.LoadCsv(models.HeldOutCsv);
        var clean = ReplayRunner.ReplayKafka(stack.Kafka, ".clean");
        var hostile = ReplayRunner.ReplayKafka(stack.Kafka, ".hostile");
        foreach (var (kafka, database) in new[] { (clean, "streammon_clean"), (hostile, "streammon_hostile") })
        {
            stack.CreateTopics(kafka.Topics);
            foreach (var (service, settings) in DemoSettings.ServiceEnvironment(options, models))
            {
                var env = stack.CommonEnvironment(kafka.Topics.Suffix, database);
                foreach (var (key, value) in settings)
                {
                    env[key] = value;
                }

                env["Scorer__ConsumerGroup"] = "streammon-scorer" + kafka.Topics.Suffix;
                env["Aggregator__ConsumerGroup"] = "streammon-aggregator" + kafka.Topics.Suffix;
                env["Alerter__EvaluatorId"] = "alerter" + kafka.Topics.Suffix;
                await stack.StartServiceAsync(service, service + kafka.Topics.Suffix, env, ct);
            }
        }

        var traffic = new TrafficOptions
        {
            ModelName = options.ModelName,
            RatePerSecond = options.RatePerSecond,
            Duration = options.Duration,
            TimeCompression = options.TimeCompression,
            Seed = options.Seed,
            StartTimeMs = DemoRunner.EventTimeOrigin(DateTimeOffset.UtcNow, options.Duration * options.TimeCompression),
            Phases = [new PhaseOptions { Name = "normal", Kind = PhaseKind.Normal, Share = 1 }],
        };
        var plan = new TrafficPlan(traffic, heldOut);
        var corpus = HostileCorpus.Build(hostile.Topics, options.ModelName, heldOut.FeatureNames, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), plan.StartEventTimeMs);
        Assert.True(corpus.Count >= 150, $"{corpus.Count} records");
        var placed = await ProduceAsync(hostile, corpus, ct);
        output.WriteLine($"{corpus.Count} hostile records produced ({corpus.Count(HostileCorpus.IsAccepted)} valid ones among them)");
        await Task.WhenAll(
            new TrafficRunner(plan, clean, _loggers.CreateLogger<TrafficRunner>()).RunAsync(null, ct),
            new TrafficRunner(plan, hostile, _loggers.CreateLogger<TrafficRunner>()).RunAsync(null, ct));

        using var cleanResults = new ResultTopicReader(clean, logger);
        using var hostileResults = new ResultTopicReader(hostile, logger);
        var expectedLetters = corpus.Count(r => !HostileCorpus.IsAccepted(r));
        var letters = await SettleAsync(stack, hostile, cleanResults, hostileResults, placed.Count(p => !HostileCorpus.IsAccepted(p.Record)), ct);

        // Every service of both namespaces is alive and says so.
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        foreach (var service in stack.Services)
        {
            Assert.False(service.HasExited, $"{service.Name} exited; last output:\n{string.Join('\n', service.Tail.TakeLast(20))}");
            using var health = await http.GetAsync(new Uri(stack.ServiceUrls[service.Name], "/healthz"), ct);
            Assert.True(health.IsSuccessStatusCode, $"{service.Name} /healthz {(int)health.StatusCode}");
        }

        // One dead letter per bad record, with its reason; none for the valid ones.
        var bySource = letters.GroupBy(l => (l.SourceTopic, l.SourcePartition, l.SourceOffset)).ToDictionary(g => g.Key, g => g.ToList());
        var problems = new List<string>();
        foreach (var (record, at) in placed)
        {
            bySource.TryGetValue((at.Topic, at.Partition.Value, at.Offset.Value), out var found);
            found ??= [];
            if (HostileCorpus.IsAccepted(record))
            {
                if (found.Count != 0)
                {
                    problems.Add($"{HostileCorpus.Describe(record)}: valid, but dead-lettered as {string.Join(", ", found.Select(f => $"{f.ReasonCode} by {f.Service}"))}");
                }
            }
            else if (found.Count != 1 || !HostileCorpus.Matches(record, found[0].ReasonCode))
            {
                problems.Add($"{HostileCorpus.Describe(record)}: expected one {record.Expected ?? record.ExpectedPrefix + "*"}, got [{string.Join(", ", found.Select(f => $"{f.ReasonCode} by {f.Service}: {f.Reason}"))}]");
            }
        }

        Assert.True(problems.Count == 0, $"{problems.Count} of {corpus.Count} records:\n{string.Join('\n', problems)}");
        var big = letters.Single(l => l.OriginalSize == 950_000);
        Assert.True(big.PayloadTruncated);
        Assert.Equal(DeadLetter.DefaultMaxPayloadBytes, big.Payload!.Length);

        // The dead letters of the good traffic itself (if any) are the clean run's.
        var corpusSources = placed.Select(p => (p.At.Topic, p.At.Partition.Value, p.At.Offset.Value)).ToHashSet();
        var cleanLetters = ReadAll<DeadLetter>(clean, clean.Topics.DeadLetter);
        Assert.Equal(
            Census(cleanLetters.Select(l => l.ReasonCode)),
            Census(letters.Where(l => !corpusSources.Contains((l.SourceTopic, l.SourcePartition, l.SourceOffset))).Select(l => l.ReasonCode)));
        Assert.Equal(expectedLetters, letters.Count(l => corpusSources.Contains((l.SourceTopic, l.SourcePartition, l.SourceOffset))));

        // Lateness is decided by each partition's own records: the good traffic is late (or not) the same way in both.
        Assert.Equal(
            LateCensus(ReadAll<DeadLetter>(clean, clean.Topics.LateEvents)),
            LateCensus(ReadAll<DeadLetter>(hostile, hostile.Topics.LateEvents).Where(l => !corpusSources.Contains((l.SourceTopic, l.SourcePartition, l.SourceOffset)))));

        AssertGoodTrafficExact(cleanResults.Log, WithoutRefused(hostileResults.Log), ReadAll<Prediction>(hostile, hostile.Topics.Predictions));
    }

    /// <summary>
    /// Drift is byte-identical (rejected feature records never enter it); latency windows of served models differ by
    /// exactly the scorer's ERROR predictions for rejected records of those models; quality's labeled and correct
    /// counts are equal; every accepted ERROR prediction of an unknown model is counted in the "_unknown" bucket.
    /// </summary>
    private void AssertGoodTrafficExact(ResultLog clean, ResultLog hostile, List<Prediction> hostilePredictions)
    {
        var codec = new EventCodec();
        Assert.NotEmpty(clean.Drift);
        var onlyClean = clean.Drift.Keys.Except(hostile.Drift.Keys).Select(k => $"{k} (count {clean.Drift[k].Count})").ToList();
        var onlyHostile = hostile.Drift.Keys.Except(clean.Drift.Keys).Select(k => $"{k} (count {hostile.Drift[k].Count}, features {string.Join(",", hostile.Drift[k].Features.Select(f => $"{f.Feature}:{f.Count}"))})").ToList();
        Assert.True(onlyClean.Count + onlyHostile.Count == 0, $"drift windows only in the clean run: {string.Join("; ", onlyClean)}\nonly in the hostile run: {string.Join("; ", onlyHostile)}");
        foreach (var (key, result) in clean.Drift)
        {
            Assert.True(codec.Serialize(result).AsSpan().SequenceEqual(codec.Serialize(hostile.Drift[key])), $"drift {key} differs");
        }

        var corpusErrors = hostilePredictions.Where(p => p.Status == PredictionStatus.ERROR && !p.EventId.StartsWith("ev-", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(clean.Latency);
        foreach (var (key, result) in hostile.Latency)
        {
            var extra = corpusErrors.Count(p => ModelOf(p) == (key.ModelName, key.ModelVersion) && p.EventTimeMs >= key.WindowStartMs && p.EventTimeMs - key.WindowStartMs < key.WindowSizeMs);
            clean.Latency.TryGetValue(key, out var before);
            Assert.True(before is not null || extra > 0, $"latency {key} exists only in the hostile run");
            Assert.Equal((before?.Count ?? 0) + extra, result.Count);
            Assert.Equal((before?.ErrorCount ?? 0) + extra, result.ErrorCount);
        }

        Assert.All(clean.Latency.Keys, k => Assert.True(hostile.Latency.ContainsKey(k), $"latency {k} missing from the hostile run"));
        var smallest = hostile.Latency.Keys.Where(k => k.ModelName == Identifiers.UnknownModelBucket).Select(k => k.WindowSizeMs).DefaultIfEmpty(0).Min();
        var unknown = hostile.Latency.Where(kv => kv.Key.ModelName == Identifiers.UnknownModelBucket && kv.Key.WindowSizeMs == smallest).Sum(kv => kv.Value.ErrorCount);
        Assert.Equal(corpusErrors.Count(p => ModelOf(p).Model == Identifiers.UnknownModelBucket), unknown);
        Assert.True(unknown >= 3, $"{unknown} errors in the unknown bucket");

        Assert.NotEmpty(clean.Quality);
        foreach (var (key, result) in clean.Quality)
        {
            Assert.True(hostile.Quality.TryGetValue(key, out var other), $"quality {key} missing from the hostile run");
            Assert.Equal((result.Labeled, result.Correct, result.Accuracy), (other!.Labeled, other.Correct, other.Accuracy));
        }

        output.WriteLine($"drift windows {clean.Drift.Count}, latency windows {clean.Latency.Count} (+{hostile.Latency.Count - clean.Latency.Count}), quality windows {clean.Quality.Count}, corpus ERROR predictions {corpusErrors.Count} ({unknown} in _unknown)");
    }

    /// <summary>
    /// The results the services would act on: the corpus wrote refused results straight onto the result topics, and
    /// the reader keeps them like any other record.
    /// </summary>
    private static ResultLog WithoutRefused(ResultLog log)
    {
        var codec = new EventCodec();
        var policy = new RecordPolicy(codec);

        // Every record of this test was produced within minutes of now: judge the event times against that.
        long? now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        foreach (var key in log.Latency.Keys.Where(k => !policy.LatencyResults(codec.Serialize(log.Latency[k]), now).IsValid).ToList())
        {
            log.Latency.Remove(key);
        }

        foreach (var key in log.Drift.Keys.Where(k => !policy.DriftResults(codec.Serialize(log.Drift[k]), now).IsValid).ToList())
        {
            log.Drift.Remove(key);
        }

        foreach (var key in log.Quality.Keys.Where(k => !policy.QualityResults(codec.Serialize(log.Quality[k]), now).IsValid).ToList())
        {
            log.Quality.Remove(key);
        }

        return log;
    }

    /// <summary>The model and version a prediction counts under once validated (ERROR predictions of unknown models go to the bucket).</summary>
    private static (string Model, string Version) ModelOf(Prediction p) =>
        Identifiers.IsValid(p.ModelName) && Identifiers.IsValid(p.ModelVersion) ? (p.ModelName, p.ModelVersion) : (Identifiers.UnknownModelBucket, Identifiers.UnknownModelBucket);

    /// <summary>Late records by topic and reason (the source topics' names differ only by the namespace suffix).</summary>
    private static SortedDictionary<string, int> LateCensus(IEnumerable<DeadLetter> letters) =>
        Census(letters.Select(l => l.SourceTopic.Replace(".clean", string.Empty, StringComparison.Ordinal).Replace(".hostile", string.Empty, StringComparison.Ordinal) + " " + l.ReasonCode));

    private static SortedDictionary<string, int> Census(IEnumerable<string> codes) =>
        new(codes.GroupBy(c => c, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal), StringComparer.Ordinal);

    private static async Task<List<(HostileRecord Record, TopicPartitionOffset At)>> ProduceAsync(KafkaOptions kafka, List<HostileRecord> corpus, CancellationToken ct)
    {
        var config = KafkaClientConfig.Producer(kafka, "hostile-producer");
        config.MessageMaxBytes = 2 * 1024 * 1024;
        using var producer = new ProducerBuilder<byte[]?, byte[]?>(config).Build();
        var placed = new List<(HostileRecord, TopicPartitionOffset)>(corpus.Count);
        for (var i = 0; i < corpus.Count; i++)
        {
            var record = corpus[i];
            var result = await producer.ProduceAsync(new TopicPartition(record.Topic, i % PartitionCount(kafka, record.Topic)), new Message<byte[]?, byte[]?> { Key = record.Key, Value = record.Value }, ct);
            placed.Add((record, result.TopicPartitionOffset));
        }

        return placed;
    }

    /// <summary>Waits until the corpus's dead letters are all in and both namespaces' results have been quiet for a while.</summary>
    private async Task<List<DeadLetter>> SettleAsync(DemoStack stack, KafkaOptions hostile, ResultTopicReader clean, ResultTopicReader hostileResults, int expectedLetters, CancellationToken ct)
    {
        var quiet = TimeSpan.FromSeconds(12);
        var quietSince = DateTime.UtcNow;
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(4);
        List<DeadLetter> letters = [];
        while (true)
        {
            await Task.Delay(1000, ct);
            var failed = stack.Services.FirstOrDefault(s => s.HasExited);
            Assert.True(failed is null, $"{failed?.Name} exited; last output:\n{string.Join('\n', failed?.Tail.TakeLast(30) ?? [])}");
            if (clean.CatchUp(TimeSpan.FromSeconds(2), ct) + hostileResults.CatchUp(TimeSpan.FromSeconds(2), ct) > 0)
            {
                quietSince = DateTime.UtcNow;
            }

            letters = ReadAll<DeadLetter>(hostile, hostile.Topics.DeadLetter);
            // Quality results are revised as labels join, at each namespace's own pace: wait until both have joined as
            // many labels (a real difference never converges and fails below with the windows that differ).
            if (letters.Count >= expectedLetters && DateTime.UtcNow - quietSince >= quiet && clean.Log.Drift.Count > 0 && hostileResults.Log.Drift.Count > 0
                && Labeled(clean.Log, clean.Log) == Labeled(hostileResults.Log, clean.Log))
            {
                return letters;
            }

            if (DateTime.UtcNow > deadline)
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Not settled after 4 min: {letters.Count} dead letters of at least {expectedLetters}; drift results clean {clean.Log.Drift.Count}, hostile {hostileResults.Log.Drift.Count}."));
                return letters;
            }
        }
    }

    /// <summary>Labels joined so far in <paramref name="log"/> over the clean run's quality windows (latest revision of each).</summary>
    private static long Labeled(ResultLog log, ResultLog clean) =>
        clean.Quality.Keys.Sum(k => log.Quality.TryGetValue(k, out var result) ? result.Labeled : 0);

    /// <summary>Every record of a topic, decoded (records that do not decode are left out: the corpus is on other topics).</summary>
    private static List<T> ReadAll<T>(KafkaOptions kafka, string topic)
        where T : class
    {
        var codec = new EventCodec();
        var config = KafkaClientConfig.Consumer(kafka, "hostile-reader-" + Guid.NewGuid().ToString("N"), "hostile-reader");
        config.EnablePartitionEof = true;
        using var consumer = new ConsumerBuilder<byte[], byte[]>(config).Build();
        var ends = Enumerable.Range(0, PartitionCount(kafka, topic)).Select(p => (Tp: new TopicPartition(topic, p), End: consumer.QueryWatermarkOffsets(new TopicPartition(topic, p), TimeSpan.FromSeconds(10)).High.Value)).Where(x => x.End > 0).ToList();
        var items = new List<T>();
        if (ends.Count == 0)
        {
            return items;
        }

        consumer.Assign(ends.Select(e => new TopicPartitionOffset(e.Tp, Offset.Beginning)));
        var remaining = ends.ToDictionary(e => e.Tp.Partition.Value, e => e.End);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (remaining.Count > 0 && DateTime.UtcNow < deadline)
        {
            var record = consumer.Consume(TimeSpan.FromMilliseconds(500));
            if (record is null)
            {
                continue;
            }

            if (!record.IsPartitionEOF && record.Message.Value is { } value && codec.TryDeserialize<T>(value, out var item, out _) && item is not null)
            {
                items.Add(item);
            }

            if (remaining.TryGetValue(record.Partition.Value, out var end) && (record.IsPartitionEOF || record.Offset.Value + 1 >= end))
            {
                remaining.Remove(record.Partition.Value);
            }
        }

        return items;
    }

    private static int PartitionCount(KafkaOptions kafka, string topic) =>
        kafka.Topics.All.Single(t => t.Name == topic).Partitions;
}
