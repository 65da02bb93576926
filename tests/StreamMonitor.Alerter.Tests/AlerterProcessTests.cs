using System.Globalization;
using Confluent.Kafka;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.Validation;
using StreamMonitor.Kafka;
using StreamMonitor.Stack;
using StreamMonitor.Testing;
using Xunit.Abstractions;
using static StreamMonitor.Slo.Tests.Generated;

namespace StreamMonitor.Alerter.Tests;

/// <summary>The alerter as a real process against the embedded Kafka cluster.</summary>
[Collection(AlerterProcesses.Name)]
public sealed class AlerterProcessTests(EmbeddedKafkaFixture kafka, ITestOutputHelper output) : IClassFixture<EmbeddedKafkaFixture>
{
    private const string SloYaml = """
        slos:
          - name: cancer-availability
            model: cancer
            indicator: { kind: availability }
            objectives: { target: 0.999 }
            timeWindow: { duration: 30d, isRolling: true }
        """;

    private ServiceProcessOptions AlerterOptions(KafkaOptions options, string sloFile, Uri webhook, int port, IReadOnlyDictionary<string, string?>? extra = null)
    {
        var env = new Dictionary<string, string?>(EmbeddedKafkaFixture.EnvironmentFor(options))
        {
            ["Urls"] = $"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}",
            ["Alerter__SloFile"] = sloFile,
            ["Alerter__ResultWindow"] = "1m",
            ["Alerter__WebhookUrl"] = webhook.ToString(),
            ["Alerter__WebhookBackoff"] = "50ms",
            ["Alerter__GroupWait"] = "0s",
            ["Alerter__GroupInterval"] = "1s",
            ["Alerter__CheckpointInterval"] = "1s",
            ["Alerter__WriteInflux"] = "false",
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            env[key] = value;
        }

        return new ServiceProcessOptions(StreammonCli.ServiceDllPath("alerter", "StreamMonitor.Alerter"))
        {
            Environment = env,
            OnLine = TestOutput.Forward(output),
        };
    }

    private static void ProduceWindows(IProducer<byte[], byte[]> producer, EventCodec codec, string topic, long from, long to, Func<long, (long Count, long Errors)> traffic)
    {
        for (var s = from; s < to; s += Minute)
        {
            var (count, errors) = traffic(s);
            var result = Latency(s, Minute, count, errors);
            // One partition: the alerter evaluates a tick once every partition that has data passed it by the allowed
            // lateness, and this test's input stops; spread over 4 partitions the last minutes would wait for more data.
            producer.Produce(new TopicPartition(topic, 0), EventMessages.Create(codec, result.Key.ToString(), result));
        }

        producer.Flush(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task Restart_mid_incident_sends_no_second_page_and_the_resolve_still_comes()
    {
        var options = kafka.CreateOptions();
        var sloFile = Path.Combine(Path.GetTempPath(), $"slos-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(sloFile, SloYaml);
        using var receiver = new WebhookReceiver();
        receiver.Start();
        var port = LocalPorts.Free();
        using var producer = kafka.CreateProducer(options);
        var codec = kafka.Codec;
        var t = T0 + Day;

        // Bad input is data: a corrupt record is dead-lettered and the alerter keeps going.
        await kafka.ProduceRawAsync(options.Topics.LatencyResults, "garbage", [1, 2, 3]);

        // One day clean, then a 3-minute outage: the 1h/5m page fires at t + 1 min (1/60 of the hour > 1.44%), evaluated
        // once the window ending at t + 2 min (the allowed lateness, 1 min) has arrived.
        ProduceWindows(producer, codec, options.Topics.LatencyResults, T0, t + (3 * Minute), s => (1000, s >= t ? 1000 : 0));
        await using var alerter = ServiceProcess.Start(AlerterOptions(options, sloFile, receiver.Url, port));
        await alerter.WaitForHttpOkAsync(new Uri($"http://127.0.0.1:{port}/healthz"), TimeSpan.FromSeconds(60));
        const string PageId = "slo/cancer-availability/page";
        List<WebhookAlertView> Pages() => [.. receiver.Received.SelectMany(r => r.Body.Alerts).Where(a => a.AlertId == PageId).Select(a => new WebhookAlertView(a.Status, a.StartsAt))];
        await Poll.UntilAsync(() => Pages().Count > 0, TimeSpan.FromSeconds(90), () => "the page");
        var page = Assert.Single(Pages());
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(t + Minute).ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture), page.StartsAt);

        using (var http = new HttpClient())
        {
            var metrics = await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics"));
            Assert.Contains("streammon_alerter_alert_transitions_total{kind=\"SLO_BURN_RATE\",state=\"FIRING\"}", metrics, StringComparison.Ordinal);
            Assert.Contains("streammon_alerter_inputs_total{topic=\"" + options.Topics.LatencyResults + "\",outcome=\"dead_letter\"} 1", metrics, StringComparison.Ordinal);
        }

        var deadLetters = await kafka.ConsumeAllAsync<DeadLetter>(options.Topics.DeadLetter, TimeSpan.FromSeconds(30));
        var letter = Assert.Single(deadLetters).Value;
        Assert.Equal("alerter", letter.Service);
        Assert.StartsWith("DECODE_", letter.ReasonCode, StringComparison.Ordinal);

        // Let the checkpoint that records the delivery land, then crash.
        await Task.Delay(TimeSpan.FromSeconds(2));
        alerter.Kill();

        // The outage ends while the alerter is down.
        ProduceWindows(producer, codec, options.Topics.LatencyResults, t + (3 * Minute), t + Hour, _ => (1000, 0));
        await using var restarted = alerter.Restart();
        await restarted.WaitForLineAsync("Restored checkpoint", TimeSpan.FromSeconds(60));
        await Poll.UntilAsync(() => Pages().Any(a => a.Status == "resolved"), TimeSpan.FromSeconds(90), () => "the resolve");
        await Task.Delay(TimeSpan.FromSeconds(3)); // a duplicate would arrive within the group interval

        // A notification lists every alert of its group that fires or just resolved: count transitions, not mentions.
        var transitions = Pages().Distinct().ToList();
        Assert.Equal([new WebhookAlertView("firing", page.StartsAt), new WebhookAlertView("resolved", page.StartsAt)], transitions);
        Assert.Equal(1, receiver.Received.Count(r => r.Body.Alerts.Any(a => a.AlertId == PageId && a.Status == "resolved")));

        // The alert's latest state on the compacted topic is the resolve; the CLI shows the SLO with the 3d ticket still firing.
        var alerts = await kafka.ConsumeAllAsync<Alert>(options.Topics.Alerts, TimeSpan.FromSeconds(30));
        Assert.Equal(AlertState.RESOLVED, alerts.Last(a => a.Key == PageId).Value.State);
        Assert.Single(alerts, a => a.Value.State == AlertState.FIRING && a.Key == PageId);
        await restarted.StopAsync(TimeSpan.FromSeconds(20));

        await using var cli = ServiceProcess.Start(new ServiceProcessOptions(StreammonCli.DllPath)
        {
            Arguments = ["slo", "status", "--bootstrap-servers", options.BootstrapServers, "--suffix", options.Topics.Suffix],
            OnLine = TestOutput.Forward(output),
        });
        Assert.Equal(0, await cli.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains(cli.Lines, l => l.Contains("cancer-availability", StringComparison.Ordinal) && l.Contains("page-1h", StringComparison.Ordinal));
        Assert.Contains(cli.Lines, l => l.Contains("slo/cancer-availability/ticket", StringComparison.Ordinal) && l.Contains("ticket-3d", StringComparison.Ordinal));
        Assert.DoesNotContain(cli.Lines, l => l.Contains(PageId, StringComparison.Ordinal));
        File.Delete(sloFile);
    }

    private sealed record WebhookAlertView(string Status, string StartsAt);

    /// <summary>Hostile results, each with the reason code its one dead letter must carry.</summary>
    private static List<(string Topic, byte[] Value, string Reason)> HostileResults(KafkaOptions options, EventCodec codec, long t)
    {
        var topics = options.Topics;
        LatencyWindowResult Bad(Action<LatencyWindowResult> spoil)
        {
            var result = Latency(t, Minute, 1000, 0);
            spoil(result);
            return result;
        }

        var random = new byte[64];
        new Random(42).NextBytes(random);
        random[0] = 0x17; // not the C3 01 marker of Avro single-object encoding
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var nanQuality = new QualityWindowResult { ModelName = "cancer", ModelVersion = "1", WindowStartMs = t, WindowSizeMs = Minute, Predictions = 10, Labeled = 5, Correct = 4, LabelCoverage = double.NaN };
        var negativeDrift = new DriftWindowResult { ModelName = "cancer", ModelVersion = "1", WindowStartMs = t, WindowSizeMs = Minute, Count = -5, DriftedShare = 0 };
        return
        [
            (topics.LatencyResults, codec.Serialize(Bad(r => r.ModelVersion = "")), ReasonCodes.InvalidIdentifier),
            (topics.LatencyResults, codec.Serialize(Bad(r => r.ModelName = "can\tcer")), ReasonCodes.InvalidIdentifier),
            (topics.LatencyResults, codec.Serialize(Bad(r => r.ErrorRate = double.NaN)), ReasonCodes.InvalidValue),
            (topics.LatencyResults, codec.Serialize(Bad(r => r.Count = -1)), ReasonCodes.InvalidValue),
            (topics.LatencyResults, codec.Serialize(Bad(r => r.WindowSizeMs = 0)), ReasonCodes.InvalidValue),
            (topics.LatencyResults, codec.Serialize(Bad(r => r.WindowStartMs = long.MaxValue)), ReasonCodes.EventTimeImplausible),
            (topics.LatencyResults, codec.Serialize(Bad(r => r.WindowStartMs = now + (100L * 365 * Day))), ReasonCodes.EventTimeImplausible),
            (topics.LatencyResults, random, ReasonCodes.DecodeBadMarker),
            (topics.LatencyResults, [], ReasonCodes.EmptyRecord),
            (topics.QualityResults, codec.Serialize(nanQuality), ReasonCodes.InvalidValue),
            (topics.DriftResults, codec.Serialize(negativeDrift), ReasonCodes.InvalidValue),
        ];
    }

    [Fact]
    public async Task Hostile_results_are_dead_lettered_once_each_and_good_results_still_alert_exactly_across_a_restart()
    {
        var options = kafka.CreateOptions();
        var sloFile = Path.Combine(Path.GetTempPath(), $"slos-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(sloFile, SloYaml);
        using var receiver = new WebhookReceiver();
        receiver.Start();
        var port = LocalPorts.Free();
        using var producer = kafka.CreateProducer(options);
        var codec = kafka.Codec;
        var t = T0 + Day;

        // The hostile records come first on the partitions the good results use: nothing after them may be held up.
        var hostile = HostileResults(options, codec, t);
        var sources = new List<(string Key, string Reason)>();
        foreach (var (topic, value, reason) in hostile)
        {
            var delivered = await producer.ProduceAsync(new TopicPartition(topic, 0), new Message<byte[], byte[]> { Key = System.Text.Encoding.UTF8.GetBytes("hostile"), Value = value });
            sources.Add(($"{topic}/0/{delivered.Offset.Value}", reason));
        }

        ProduceWindows(producer, codec, options.Topics.LatencyResults, T0, t + (3 * Minute), s => (1000, s >= t ? 1000 : 0));
        await using var alerter = ServiceProcess.Start(AlerterOptions(options, sloFile, receiver.Url, port));
        await alerter.WaitForHttpOkAsync(new Uri($"http://127.0.0.1:{port}/healthz"), TimeSpan.FromSeconds(60));
        const string PageId = "slo/cancer-availability/page";
        List<WebhookAlertView> Pages() => [.. receiver.Received.SelectMany(r => r.Body.Alerts).Where(a => a.AlertId == PageId).Select(a => new WebhookAlertView(a.Status, a.StartsAt))];
        await Poll.UntilAsync(() => Pages().Count > 0, TimeSpan.FromSeconds(90), () => "the page");
        var page = Assert.Single(Pages());
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(t + Minute).ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture), page.StartsAt);

        async Task AssertOneDeadLetterEachAsync()
        {
            var letters = await kafka.ConsumeAllAsync<DeadLetter>(options.Topics.DeadLetter, TimeSpan.FromSeconds(30));
            Assert.Equal(sources.OrderBy(x => x.Key, StringComparer.Ordinal), letters.Select(l => (l.Key, l.Value.ReasonCode)).OrderBy(x => x.Key, StringComparer.Ordinal));
            Assert.All(letters, l => Assert.Equal("alerter", l.Value.Service));
        }

        await AssertOneDeadLetterEachAsync();
        using (var http = new HttpClient())
        {
            using var health = await http.GetAsync(new Uri($"http://127.0.0.1:{port}/healthz"));
            Assert.Equal(System.Net.HttpStatusCode.OK, health.StatusCode);
            var metrics = await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics"));
            Assert.Contains("streammon_alerter_inputs_total{topic=\"" + options.Topics.LatencyResults + "\",outcome=\"dead_letter\"} 9", metrics, StringComparison.Ordinal);
        }

        // Crash after the checkpoint that follows the bad records; the outage ends while the alerter is down.
        await Task.Delay(TimeSpan.FromSeconds(2));
        alerter.Kill();
        ProduceWindows(producer, codec, options.Topics.LatencyResults, t + (3 * Minute), t + Hour, _ => (1000, 0));
        await using var restarted = alerter.Restart();
        await restarted.WaitForLineAsync("Restored checkpoint", TimeSpan.FromSeconds(60));
        await Poll.UntilAsync(() => Pages().Any(a => a.Status == "resolved"), TimeSpan.FromSeconds(90), () => "the resolve");
        Assert.Equal([new WebhookAlertView("firing", page.StartsAt), new WebhookAlertView("resolved", page.StartsAt)], Pages().Distinct().ToList());

        // The restart re-read nothing before its checkpoint: still exactly one dead letter per hostile record.
        await AssertOneDeadLetterEachAsync();
        Assert.False(restarted.HasExited);
        await restarted.StopAsync(TimeSpan.FromSeconds(20));
        File.Delete(sloFile);
    }

    [Fact]
    public async Task A_dead_letter_that_cannot_be_written_holds_the_checkpoint_offset_at_its_record()
    {
        var options = kafka.CreateOptions();
        var sloFile = Path.Combine(Path.GetTempPath(), $"slos-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(sloFile, SloYaml);
        using var receiver = new WebhookReceiver();
        var port = LocalPorts.Free();
        using var producer = kafka.CreateProducer(options);
        var codec = kafka.Codec;
        var t = T0 + (2 * Hour);
        var lane = new TopicPartition(options.Topics.LatencyResults, 0);
        ProduceWindows(producer, codec, options.Topics.LatencyResults, T0, T0 + (10 * Minute), _ => (1000, 0));

        // Garbage of 300 kB: kept whole in its dead letter (below the 512 KiB cap), which the alerter's producer,
        // limited to 200 kB here, refuses.
        var garbage = new byte[300_000];
        garbage[0] = 0x17;
        var bad = await producer.ProduceAsync(lane, new Message<byte[], byte[]> { Key = System.Text.Encoding.UTF8.GetBytes("garbage"), Value = garbage });
        ProduceWindows(producer, codec, options.Topics.LatencyResults, T0 + (10 * Minute), t, _ => (1000, 0));

        var limited = new Dictionary<string, string?> { ["Kafka__Client__message.max.bytes"] = "200000" };
        await using var alerter = ServiceProcess.Start(AlerterOptions(options, sloFile, receiver.Url, port, limited));
        await alerter.WaitForLineAsync(l => l.Contains("could not be queued", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        await Task.Delay(TimeSpan.FromSeconds(3)); // checkpoints (1 s) after every record was processed
        using (var http = new HttpClient())
        {
            var metrics = await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics"));
            Assert.Contains("streammon_dead_letters_delivery_failures{service=\"alerter\"}", metrics, StringComparison.Ordinal);
            Assert.Contains("streammon_dead_letters_blocking{service=\"alerter\"} 1", metrics, StringComparison.Ordinal);
        }

        alerter.Kill();

        // The checkpoint kept the offset of the unwritten dead letter's record, not the end of the partition.
        await using var restarted = alerter.Restart();
        var restored = await restarted.WaitForLineAsync("Restored checkpoint", TimeSpan.FromSeconds(60));
        Assert.Contains($"{lane.Topic}[0]@{bad.Offset.Value}", restored, StringComparison.Ordinal);
        await restarted.StopAsync(TimeSpan.FromSeconds(20));
        File.Delete(sloFile);
    }

    [Fact]
    public async Task An_invalid_slo_file_stops_start_up_with_every_error()
    {
        var options = kafka.CreateOptions();
        var sloFile = Path.Combine(Path.GetTempPath(), $"slos-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(sloFile, """
            slos:
              - name: a
                model: cancer
                indicator: { kind: throughput }
                objectives: { target: 0.99 }
                timeWindow: { duration: 30d }
              - name: a
                model: cancer
                indicator: { kind: availability }
                objectives: { target: 0.9 }
                timeWindow: { duration: 30d }
            """);
        using var receiver = new WebhookReceiver();
        await using var alerter = ServiceProcess.Start(AlerterOptions(options, sloFile, receiver.Url, LocalPorts.Free()));
        Assert.Equal(2, await alerter.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains(alerter.Lines, l => l.Contains("unknown SLI 'throughput'", StringComparison.Ordinal));
        Assert.Contains(alerter.Lines, l => l.Contains("duplicate SLO name", StringComparison.Ordinal));
        File.Delete(sloFile);
    }
}
