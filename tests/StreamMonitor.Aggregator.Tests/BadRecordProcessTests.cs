using System.Globalization;
using System.Text;
using Confluent.Kafka;
using StreamMonitor.Analytics.Drift;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.Validation;
using StreamMonitor.Influx;
using StreamMonitor.Kafka;
using StreamMonitor.Stack;
using StreamMonitor.Streams;
using StreamMonitor.Testing;
using Xunit.Abstractions;

namespace StreamMonitor.Aggregator.Tests;

/// <summary>
/// Regressions of issue #11 against the aggregator as an OS process: one bad input record once stopped the service (and
/// on restart, re-read from the log, stopped it again), hung stage A, or moved a stream time into the future for good.
/// Each scenario produces good traffic with the bad record early in it, waits until the process has handled the bad
/// record, kills it (SIGKILL), produces the rest, restarts it, and checks the results of the good traffic exactly:
/// against the in-memory pipeline run over the valid records alone, so a bad record provably changed nothing. Records
/// are stamped as a live system stamps them (the record timestamp is the arrival clock), the event-time policy judges
/// against that.
/// </summary>
[Collection(AggregatorProcessCollection.Name)]
public sealed class BadRecordProcessTests(AggregatorProcessFixture fixture, ITestOutputHelper output)
{
    private const int Count = 6_000;
    private const int BadAt = 100;
    private const int Restart = Count / 2;
    private const long CenturyMs = 36_525L * 86_400_000;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(240);

    [Fact]
    public async Task An_error_prediction_of_a_mistyped_model_or_with_a_tab_counts_in_unknown_and_a_point_influx_cannot_carry_is_dead_lettered_across_a_restart()
    {
        var good = PredictionGenerator.Generate(Count, seed: 21, stepMs: 40);
        var at = good[BadAt].EventTimeMs;

        // What the scorer publishes for a typo in model_name (empty version), a model name with a tab, and a valid model
        // name InfluxDB's line protocol cannot carry as a tag (a trailing backslash).
        Prediction Error(string id, string model, string version) =>
            new() { EventId = id, ModelName = model, ModelVersion = version, EventTimeMs = at, Status = PredictionStatus.ERROR, ErrorReason = "VALIDATION_UNKNOWN_MODEL: not served" };
        Prediction[] bad = [Error("typo", "fruad", ""), Error("tab", "fraud\tv2", "1"), Error("backslash", "tail\\", "1")];
        var (options, influx, port) = await PrepareAsync("unknown");
        var all = good.Take(BadAt + 1).Concat(bad).Concat(good.Skip(BadAt + 1)).ToList();
        var expected = ExpectedLatency(all, SentinelTime(good));
        var unknown = expected.Keys.Where(k => k.StartsWith("latency|_unknown|_unknown|", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, unknown.Count); // one 10 s and one 1 min window, each with the two errors
        Assert.All(unknown, k => Assert.Equal((2L, 2L), (Latency(expected[k]).Count, Latency(expected[k]).ErrorCount)));
        Assert.Contains(expected.Keys, k => k.StartsWith("latency|tail\\|1|", StringComparison.Ordinal));

        var (process, metrics) = await RunAcrossRestartAsync(
            options,
            influx,
            port,
            producer => Produce(producer, options.Topics, all.Take(Restart)),
            producer => Produce(producer, options.Topics, all.Skip(Restart), SentinelTime(good)),
            m => MetricsText.Sum(m, "streammon_aggregator_projection_rejected_total", "reason_code=\"PROJECTION_REJECTED\"") > 0,
            "a projection dead letter");
        await using (process)
        {
            await WaitForLatencyAsync(options, process, expected);
            Assert.Equal(0, MetricsText.Sum(metrics, "streammon_aggregator_dead_letters_total"));

            // Nothing of the predictions is dead-lettered; the result InfluxDB cannot carry is, from its result topic.
            var letters = await fixture.Kafka.ConsumeAllAsync<DeadLetter>(options.Topics.DeadLetter, TimeSpan.FromSeconds(30));
            Assert.DoesNotContain(letters, l => l.Value.SourceTopic == options.Topics.Predictions);
            Assert.NotEmpty(letters);
            Assert.All(letters, l =>
            {
                Assert.Equal((ReasonCodes.ProjectionRejected, options.Topics.LatencyResults), (l.Value.ReasonCode, l.Value.SourceTopic));
                Assert.Equal("tail\\", fixture.Kafka.Codec.Deserialize<LatencyWindowResult>(l.Value.Payload!).ModelName);
            });

            // InfluxDB holds every other window exactly, the "_unknown" ones included.
            await WaitForInfluxAsync(influx, expected.Where(e => !e.Key.StartsWith("latency|tail\\|", StringComparison.Ordinal)).ToDictionary(e => e.Key, e => Latency(e.Value), StringComparer.Ordinal));
            await process.StopAsync(TimeSpan.FromSeconds(20));
        }
    }

    [Fact]
    public async Task A_long_MaxValue_event_time_is_dead_lettered_and_later_predictions_are_aggregated_across_a_restart()
    {
        var good = PredictionGenerator.Generate(Count, seed: 22, stepMs: 40);
        var bad = new Prediction { EventId = "max", ModelName = "fraud", ModelVersion = "1", EventTimeMs = long.MaxValue, Status = PredictionStatus.OK, Score = 0.5, Timing = new PredictionTiming { E2eUs = 1_000 } };
        var (options, influx, port) = await PrepareAsync("maxtime");
        var expected = ExpectedLatency(good, SentinelTime(good));
        var (process, metrics) = await RunAcrossRestartAsync(
            options,
            influx,
            port,
            producer => Produce(producer, options.Topics, good.Take(BadAt + 1).Append(bad).Concat(good.Skip(BadAt + 1).Take(Restart - BadAt - 1))),
            producer => Produce(producer, options.Topics, good.Skip(Restart), SentinelTime(good)),
            m => MetricsText.Sum(m, "streammon_aggregator_dead_letters_total", "reason_code=\"EVENT_TIME_IMPLAUSIBLE\"") > 0,
            "the dead letter of the long.MaxValue event time");
        await using (process)
        {
            await WaitForLatencyAsync(options, process, expected);
            await AssertOneImplausibleAsync(options, options.Topics.Predictions, long.MaxValue);
            await AssertNothingLateAsync(options);

            // The stream time is the sentinels', never long.MaxValue.
            var after = await MetricsText.WaitForAsync(MetricsUrl(port), process, m => m.GetValueOrDefault("streammon_aggregator_stream_time_ms{processor=\"stage-a\"}") == SentinelTime(good), TimeSpan.FromSeconds(60), "the sentinels' stream time");
            Assert.Equal(SentinelTime(good), after["streammon_aggregator_watermark_ms"]);
            Assert.Equal(1, metrics[$"streammon_aggregator_rejected_records_total{{topic=\"{options.Topics.Predictions}\",reason_code=\"EVENT_TIME_IMPLAUSIBLE\"}}"]);
            await process.StopAsync(TimeSpan.FromSeconds(20));
        }
    }

    [Fact]
    public async Task An_event_time_100_years_ahead_is_rejected_later_predictions_are_not_late_and_their_labels_join_across_a_restart()
    {
        var good = PredictionGenerator.Generate(Count, seed: 23, stepMs: 40);
        var random = new Random(23);
        var labels = good.Where(p => p.Status == PredictionStatus.OK)
            .Select(p => new Label { EventId = p.EventId, ModelName = p.ModelName, Value = random.Next(2), LabelTimeMs = p.EventTimeMs + random.Next(1_000, 20_000) })
            .ToDictionary(l => l.EventId, StringComparer.Ordinal);
        var at = good[BadAt].EventTimeMs;
        var ahead = new Prediction { EventId = "ahead", ModelName = "fraud", ModelVersion = "1", EventTimeMs = at + CenturyMs, Status = PredictionStatus.OK, Score = 0.5, Timing = new PredictionTiming { E2eUs = 1_000 } };
        var aheadLabel = new Label { EventId = "label-ahead", ModelName = "fraud", Value = 1, LabelTimeMs = at + CenturyMs };
        var (options, influx, port) = await PrepareAsync("ahead");
        var expected = ExpectedLatency(good, SentinelTime(good));

        void ProduceWithLabels(IProducer<byte[], byte[]> producer, IEnumerable<Prediction> predictions, long? sentinels = null)
        {
            // Each label right after the last prediction before its label time, stamped with its label time.
            var list = predictions.ToList();
            Produce(producer, options.Topics, list, sentinels);
            foreach (var label in list.Where(p => labels.ContainsKey(p.EventId)).Select(p => labels[p.EventId]).OrderBy(l => l.LabelTimeMs))
            {
                ProduceAt(producer, options.Topics.Labels, label.EventId, fixture.Kafka.Codec.Serialize(label), label.LabelTimeMs);
            }
        }

        var (process, metrics) = await RunAcrossRestartAsync(
            options,
            influx,
            port,
            producer =>
            {
                ProduceWithLabels(producer, good.Take(BadAt + 1));
                Produce(producer, options.Topics, [ahead], stamp: at + 20);
                ProduceAt(producer, options.Topics.Labels, aheadLabel.EventId, fixture.Kafka.Codec.Serialize(aheadLabel), at + 20);
                ProduceWithLabels(producer, good.Skip(BadAt + 1).Take(Restart - BadAt - 1));
            },
            producer => ProduceWithLabels(producer, good.Skip(Restart), SentinelTime(good)),
            m => MetricsText.Sum(m, "streammon_aggregator_dead_letters_total", "reason_code=\"EVENT_TIME_IMPLAUSIBLE\"") >= 2,
            "the dead letters of the prediction and the label 100 years ahead");
        await using (process)
        {
            // Latency: exactly the results without the record, so nothing later was late.
            await WaitForLatencyAsync(options, process, expected);
            await AssertNothingLateAsync(options);
            await AssertOneImplausibleAsync(options, options.Topics.Predictions, ahead.EventTimeMs);
            await AssertOneImplausibleAsync(options, options.Topics.Labels, aheadLabel.LabelTimeMs);

            // Quality: every OK prediction joined with its label, nothing expired.
            var windows = good.Where(p => p.Status == PredictionStatus.OK)
                .GroupBy(p => new WindowKey(WindowKind.Quality, p.ModelName, p.ModelVersion, WindowSpec.FloorTo(p.EventTimeMs, 60_000), 60_000).ToString(), StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.LongCount(), StringComparer.Ordinal);
            var results = await AggregatorProcess.WaitForResultsAsync(fixture.Kafka, options.Topics.QualityResults, process, Deadline,
                latest => windows.All(w => latest.TryGetValue(w.Key, out var v) && fixture.Kafka.Codec.Deserialize<QualityWindowResult>(v).Final),
                latest => $"quality results: {windows.Count(w => latest.ContainsKey(w.Key))}/{windows.Count} windows present");
            foreach (var (key, predictions) in windows)
            {
                var result = fixture.Kafka.Codec.Deserialize<QualityWindowResult>(results[key]);
                Assert.Equal((key, predictions, predictions, 0L), (key, result.Predictions, result.Labeled, result.ExpiredUnlabeled));
            }

            var letters = await fixture.Kafka.ConsumeAllAsync<DeadLetter>(options.Topics.DeadLetter, TimeSpan.FromSeconds(30));
            Assert.All(letters, l => Assert.Equal(ReasonCodes.EventTimeImplausible, l.Value.ReasonCode));
            Assert.Equal(2, metrics.Where(m => m.Key.StartsWith("streammon_aggregator_rejected_records_total{", StringComparison.Ordinal)).Sum(m => m.Value));
            await process.StopAsync(TimeSpan.FromSeconds(20));
        }
    }

    [Fact]
    public async Task Feature_events_of_a_model_without_a_profile_and_undecodable_ones_are_counted_not_dead_lettered_across_a_restart()
    {
        var scratch = Directory.CreateTempSubdirectory("streammon-drift-");
        try
        {
            var csv = Path.Combine(StreammonCli.RepositoryRoot, "data", "breast_cancer_wisconsin.csv");
            var profilePath = Path.Combine(scratch.FullName, "cancer.json");
            await File.WriteAllTextAsync(profilePath, ProfileBuilder.FromCsv(csv, "cancer", ["label"]).ToJson());
            var lines = File.ReadAllLines(csv).Where(l => l.Length > 0).ToList();
            var header = lines[0].Split(',');
            var rows = lines.Skip(1).ToList();
            const long from = 1_763_800_000_000;

            // Two models' events every 100 ms: "cancer" has a profile, "other" has none (scored and monitored elsewhere).
            var events = Enumerable.Range(0, rows.Count * 2)
                .SelectMany(i => new[] { ("cancer", i), ("other", i) })
                .Select(e => (Model: e.Item1, Id: $"{e.Item1}-{e.i}", Time: from + (e.i * 100L), Row: rows[e.i % rows.Count]))
                .ToList();
            var options = fixture.Kafka.CreateOptions();
            var port = LocalPorts.Free();
            var settings = new Dictionary<string, string?>
            {
                ["Aggregator__ConsumerGroup"] = "agg-drift-" + options.Topics.Suffix.Trim('.'),
                ["Aggregator__InfluxEnabled"] = "false",
                ["Aggregator__Latency"] = "false",
                ["Aggregator__Quality__Enabled"] = "false",
                ["Aggregator__Profiles__cancer"] = profilePath,
                ["Aggregator__CheckpointInterval"] = "200ms",
                ["Urls"] = $"http://127.0.0.1:{port}",
            };
            void ProduceEvents(IProducer<byte[], byte[]> producer, IEnumerable<(string Model, string Id, long Time, string Row)> batch)
            {
                foreach (var e in batch)
                {
                    CsvFeatureEvents.Produce(producer, fixture.Kafka.Codec, options.Topics, header, e.Row, e.Model, e.Time, e.Id, e.Time + 10);
                }
            }

            var half = events.Count / 2;
            using (var producer = fixture.Kafka.CreateProducer(options))
            {
                ProduceEvents(producer, events.Take(100));
                ProduceAt(producer, options.Topics.Features, "garbage", [0xde, 0xad, 0xbe, 0xef], from + 5_000);
                CsvFeatureEvents.Produce(producer, fixture.Kafka.Codec, options.Topics, header, rows[0], "cancer", long.MaxValue, "max", from + 5_000);
                ProduceEvents(producer, events.Skip(100).Take(half - 100));
                producer.Flush(TimeSpan.FromSeconds(30));
            }

            var first = AggregatorProcess.Start(options, settings, TestOutput.Forward(output, "first"));
            var otherBefore = events.Take(half).Count(e => e.Model == "other");
            Dictionary<string, double> metrics;
            await using (first)
            {
                metrics = await MetricsText.WaitForAsync(MetricsUrl(port), first, m =>
                    m.GetValueOrDefault("streammon_aggregator_drift_skipped_total") >= otherBefore
                    && MetricsText.Sum(m, "streammon_aggregator_rejected_records_total", $"topic=\"{options.Topics.Features}\"") >= 2,
                    Deadline, "the skipped and rejected feature events");
                await Task.Delay(1_500); // a checkpoint after the bad records: the restart resumes past them
                first.Kill();
            }

            Assert.Equal(1, metrics[$"streammon_aggregator_rejected_records_total{{topic=\"{options.Topics.Features}\",reason_code=\"DECODE_TRUNCATED\"}}"]);
            Assert.Equal(1, metrics[$"streammon_aggregator_rejected_records_total{{topic=\"{options.Topics.Features}\",reason_code=\"EVENT_TIME_IMPLAUSIBLE\"}}"]);
            Assert.Equal(0, MetricsText.Sum(metrics, "streammon_aggregator_dead_letters_total"));

            // The rest, and per partition a "cancer" event far ahead that closes every window.
            var sentinel = events[^1].Time + 600_000;
            using (var producer = fixture.Kafka.CreateProducer(options))
            {
                ProduceEvents(producer, events.Skip(half));
                for (var p = 0; p < options.Topics.InputPartitions; p++)
                {
                    var feature = new FeatureEvent { EventId = $"sentinel-{p}", ModelName = "cancer", EventTimeMs = sentinel };
                    producer.Produce(new TopicPartition(options.Topics.Features, p), new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes(feature.EventId), Value = fixture.Kafka.Codec.Serialize(feature), Timestamp = new Timestamp(sentinel, TimestampType.CreateTime) });
                }

                producer.Flush(TimeSpan.FromSeconds(30));
            }

            await using var second = ServiceProcess.Start(first.Options with { OnLine = TestOutput.Forward(output, "second") });
            var expected = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var size in new[] { 10_000L, 60_000L })
            {
                foreach (var group in events.Where(e => e.Model == "cancer").GroupBy(e => new WindowKey(WindowKind.Drift, "cancer", "all", WindowSpec.FloorTo(e.Time, size), size).ToString(), StringComparer.Ordinal))
                {
                    expected[group.Key] = group.LongCount();
                }
            }

            var results = await AggregatorProcess.WaitForResultsAsync(fixture.Kafka, options.Topics.DriftResults, second, Deadline,
                latest => expected.All(e => latest.TryGetValue(e.Key, out var v) && fixture.Kafka.Codec.Deserialize<DriftWindowResult>(v).Count == e.Value),
                latest => $"drift results: {expected.Count(e => latest.ContainsKey(e.Key))}/{expected.Count} windows present");
            Assert.DoesNotContain(results.Keys, k => k.Contains("|other|", StringComparison.Ordinal));
            var later = await MetricsText.WaitForAsync(MetricsUrl(port), second, m => m.GetValueOrDefault("streammon_aggregator_drift_skipped_total") > 0, TimeSpan.FromSeconds(60), "skipped events after the restart");
            Assert.Equal(0, MetricsText.Sum(later, "streammon_aggregator_dead_letters_total"));
            Assert.Empty(await fixture.Kafka.ConsumeRawAllAsync(options.Topics.DeadLetter, TimeSpan.FromSeconds(10)));
            await second.StopAsync(TimeSpan.FromSeconds(20));
        }
        finally
        {
            scratch.Delete(recursive: true);
        }
    }

    private static long SentinelTime(List<Prediction> good) => good.Max(p => p.EventTimeMs) + 600_000;

    private static Uri MetricsUrl(int port) => new(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}/metrics"));

    private LatencyWindowResult Latency(byte[] value) => fixture.Kafka.Codec.Deserialize<LatencyWindowResult>(value);

    private async Task<(KafkaOptions Kafka, InfluxOptions Influx, int Port)> PrepareAsync(string name) =>
        (fixture.Kafka.CreateOptions(), await fixture.Influx.CreateDatabaseAsync(name), LocalPorts.Free());

    /// <summary>
    /// Produces the first part, starts the aggregator, waits until its metrics show <paramref name="handled"/> (the bad
    /// record went through), lets it checkpoint, kills it, produces the second part and starts it again. Returns the
    /// restarted process and the first one's last metrics.
    /// </summary>
    private async Task<(ServiceProcess Process, Dictionary<string, double> Metrics)> RunAcrossRestartAsync(
        KafkaOptions options, InfluxOptions influx, int port, Action<IProducer<byte[], byte[]>> first, Action<IProducer<byte[], byte[]>> second, Func<IReadOnlyDictionary<string, double>, bool> handled, string what)
    {
        using (var producer = fixture.Kafka.CreateProducer(options))
        {
            first(producer);
            producer.Flush(TimeSpan.FromSeconds(30));
        }

        var settings = new Dictionary<string, string?> { ["Urls"] = string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}") };
        var process = AggregatorProcess.Start(options, influx, checkpointEveryRecords: 500, TestOutput.Forward(output, "first"), settings);
        Dictionary<string, double> metrics;
        await using (process)
        {
            metrics = await MetricsText.WaitForAsync(MetricsUrl(port), process, handled, Deadline, what);
            await Task.Delay(1_500); // checkpoints every 200 ms: the restart resumes from one taken after the bad record
            process.Kill();
            output.WriteLine("kill -9 after the bad record");
        }

        using (var producer = fixture.Kafka.CreateProducer(options))
        {
            second(producer);
            producer.Flush(TimeSpan.FromSeconds(30));
        }

        return (ServiceProcess.Start(process.Options with { OnLine = TestOutput.Forward(output, "second") }), metrics);
    }

    /// <summary>
    /// Produces predictions in order, each stamped with the arrival clock (the largest event time so far plus 20 ms, or
    /// <paramref name="stamp"/>), then, with <paramref name="sentinels"/>, one error prediction at that time per partition.
    /// </summary>
    private void Produce(IProducer<byte[], byte[]> producer, TopicCatalog topics, IEnumerable<Prediction> predictions, long? sentinels = null, long? stamp = null)
    {
        var clock = 0L;
        foreach (var prediction in predictions)
        {
            clock = stamp ?? Math.Max(clock, prediction.EventTimeMs + 20);
            ProduceAt(producer, topics.Predictions, prediction.EventId, fixture.Kafka.Codec.Serialize(prediction), clock);
        }

        if (sentinels is { } time)
        {
            for (var p = 0; p < topics.InputPartitions; p++)
            {
                var sentinel = PredictionGenerator.Sentinel(time, Sentinel(p));
                producer.Produce(new TopicPartition(topics.Predictions, p), new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes(sentinel.EventId), Value = fixture.Kafka.Codec.Serialize(sentinel), Timestamp = new Timestamp(time, TimestampType.CreateTime) });
            }
        }
    }

    private static string Sentinel(int partition) => "sentinel-" + partition.ToString(CultureInfo.InvariantCulture);

    private static void ProduceAt(IProducer<byte[], byte[]> producer, string topic, string key, byte[] value, long timestampMs) =>
        producer.Produce(topic, new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes(key), Value = value, Timestamp = new Timestamp(timestampMs, TimestampType.CreateTime) });

    /// <summary>
    /// The latency results of <paramref name="predictions"/> plus the sentinels, from the in-memory pipeline (the same
    /// task classes, partitioned as the producer partitions them): the exact final result per window key.
    /// </summary>
    private static Dictionary<string, byte[]> ExpectedLatency(IEnumerable<Prediction> predictions, long sentinelTime)
    {
        var pipeline = new InMemoryPipeline(new AggregatorOptions());
        var partitions = PredictionGenerator.Partition(predictions, pipeline.Topics.InputPartitions)
            .Select((list, p) => (IReadOnlyList<Prediction>)list.Append(PredictionGenerator.Sentinel(sentinelTime, Sentinel(p))).ToList())
            .ToList();
        return pipeline.Run(partitions).Where(o => o.Topic == pipeline.Topics.LatencyResults)
            .GroupBy(o => Encoding.UTF8.GetString(o.Key), StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Last().Value, StringComparer.Ordinal);
    }

    private async Task WaitForLatencyAsync(KafkaOptions options, ServiceProcess process, Dictionary<string, byte[]> expected)
    {
        var results = await AggregatorProcess.WaitForResultsAsync(fixture.Kafka, options.Topics.LatencyResults, process, Deadline,
            latest => expected.All(e => latest.TryGetValue(e.Key, out var value) && value.AsSpan().SequenceEqual(e.Value)),
            latest => $"latency results: {expected.Count(e => latest.TryGetValue(e.Key, out var v) && v.AsSpan().SequenceEqual(e.Value))}/{expected.Count} windows exact");
        Assert.Contains(results.Keys, k => k.StartsWith("latency|fraud|", StringComparison.Ordinal));
    }

    private async Task AssertOneImplausibleAsync(KafkaOptions options, string sourceTopic, long eventTimeMs)
    {
        // A replay after the kill may write a dead letter again, under the same key (topic/partition/offset).
        var letters = (await fixture.Kafka.ConsumeAllAsync<DeadLetter>(options.Topics.DeadLetter, TimeSpan.FromSeconds(30)))
            .Where(l => l.Value.SourceTopic == sourceTopic).ToList();
        Assert.Single(letters.Select(l => l.Key).Distinct(StringComparer.Ordinal));
        Assert.All(letters, l =>
        {
            Assert.Equal((ReasonCodes.EventTimeImplausible, eventTimeMs, "aggregator"), (l.Value.ReasonCode, l.Value.EventTimeMs, l.Value.Service));
            Assert.Equal(Encoding.UTF8.GetString(DeadLetter.KeyOf(l.Value.SourceTopic, l.Value.SourcePartition, l.Value.SourceOffset)), l.Key);
        });
    }

    private async Task AssertNothingLateAsync(KafkaOptions options) =>
        Assert.Empty(await fixture.Kafka.ConsumeRawAllAsync(options.Topics.LateEvents, TimeSpan.FromSeconds(10)));

    /// <summary>Polls InfluxDB until latency_window holds exactly <paramref name="expected"/> (count and error count per window).</summary>
    private static async Task WaitForInfluxAsync(InfluxOptions influx, Dictionary<string, LatencyWindowResult> expected)
    {
        using var client = InfluxFixture.CreateQueryClient(influx);
        var deadline = DateTime.UtcNow + Deadline;
        while (true)
        {
            var series = await client.QueryAsync("SELECT * FROM latency_window GROUP BY *");
            var rows = series.SelectMany(s => Enumerable.Range(0, s.Rows.Count).Select(row =>
                    (Key: new WindowKey(WindowKind.Latency, s.Tags["model"], s.Tags["version"], new DateTimeOffset(s.GetTime(row)).ToUnixTimeMilliseconds(), s.Tags["window"] == "10s" ? 10_000 : 60_000).ToString(),
                        Count: s.GetInt64(row, "count"), Errors: s.GetInt64(row, "error_count"))))
                .Where(r => !r.Key.StartsWith("latency|sentinel|", StringComparison.Ordinal))
                .ToDictionary(r => r.Key, StringComparer.Ordinal);
            var exact = expected.Count(e => rows.TryGetValue(e.Key, out var r) && r.Count == e.Value.Count && r.Errors == e.Value.ErrorCount);
            if (exact == expected.Count && rows.Count == expected.Count)
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, $"latency_window: {exact} of {expected.Count} windows exact, {rows.Count} rows");
            await Task.Delay(500);
        }
    }
}
