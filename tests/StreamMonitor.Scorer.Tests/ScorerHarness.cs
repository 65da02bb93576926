using System.Net;
using System.Text;
using Confluent.Kafka;
using Microsoft.AspNetCore.Builder;
using StreamMonitor.Contracts;
using StreamMonitor.Kafka;
using StreamMonitor.Models;
using StreamMonitor.Models.Training;
using StreamMonitor.Testing;

namespace StreamMonitor.Scorer.Tests;

/// <summary>Helpers shared by the scorer's integration tests.</summary>
internal static class ScorerHarness
{
    public static readonly EventCodec Codec = new();

    /// <summary>Builds a small logistic regression into <paramref name="store"/> (fast: a few epochs).</summary>
    public static ModelBuildResult BuildModel(string store, string name, string version, int seed = 42) => ModelBuilder.Build(new ModelBuildRequest
    {
        DataPath = TestPaths.DataFile("breast_cancer_wisconsin.csv"),
        StoreRoot = store,
        Name = name,
        Version = version,
        Kind = "lr",
        Settings = new TrainingSettings { Epochs = 20, Seed = seed },
    });

    /// <summary>A valid event for the cancer data's features, from a held-out row.</summary>
    public static FeatureEvent Event(ModelBuildResult model, int i, string? modelName = null)
    {
        var row = model.HeldOut.Rows[i % model.HeldOut.Count];
        var featureEvent = new FeatureEvent
        {
            EventId = "e-" + i.ToString("D6", System.Globalization.CultureInfo.InvariantCulture),
            ModelName = modelName ?? model.Manifest.Name,
            EntityId = "patient-" + i,
            EventTimeMs = 1_700_000_000_000 + (i * 10L),
        };
        for (var j = 0; j < row.Length; j++)
        {
            featureEvent.Features[model.Manifest.Features[j]] = row[j];
        }

        return featureEvent;
    }

    public static IProducer<byte[], byte[]> Producer(KafkaOptions options) =>
        new ProducerBuilder<byte[], byte[]>(KafkaClientConfig.Producer(options, "test-producer")).Build();

    public static void Produce(IProducer<byte[], byte[]> producer, KafkaOptions options, FeatureEvent featureEvent) =>
        producer.Produce(options.Topics.Features, new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes(featureEvent.EventId), Value = Codec.Serialize(featureEvent) });

    /// <summary>
    /// <paramref name="featureEvent"/> encoded with invalid UTF-8 in its event id: the id's last character becomes
    /// the byte 0xFF, which no UTF-8 sequence contains (the Avro length stays right, so only the text is bad).
    /// </summary>
    public static byte[] WithInvalidUtf8EventId(FeatureEvent featureEvent)
    {
        ArgumentNullException.ThrowIfNull(featureEvent);
        var bytes = Codec.Serialize(featureEvent);
        var id = Encoding.UTF8.GetBytes(featureEvent.EventId);
        var at = bytes.AsSpan(EventCodec.HeaderLength).IndexOf(id);
        Assert.True(at >= 0, "event id not found in the encoded event");
        bytes[EventCodec.HeaderLength + at + id.Length - 1] = 0xFF;
        return bytes;
    }

    public static void ProduceRaw(IProducer<byte[], byte[]> producer, KafkaOptions options, string key, byte[] value) =>
        producer.Produce(options.Topics.Features, new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes(key), Value = value });

    /// <summary>
    /// Reads a topic from the start until <paramref name="until"/> holds or the timeout passes, then for
    /// <paramref name="settle"/> longer, to catch records that should not be there (duplicates, second dead letters).
    /// </summary>
    public static List<Record<T>> Read<T>(KafkaOptions options, string topic, Func<List<Record<T>>, bool> until, TimeSpan timeout, TimeSpan settle = default)
        where T : class
    {
        var config = KafkaClientConfig.Consumer(options, "test-reader-" + Guid.NewGuid().ToString("N"), "test-reader");
        using var consumer = new ConsumerBuilder<byte[], byte[]>(config).Build();
        consumer.Subscribe(topic);
        var records = new List<Record<T>>();
        void ConsumeOne()
        {
            var record = consumer.Consume(100);
            if (record?.Message?.Value is { } value)
            {
                records.Add(new Record<T>(Encoding.UTF8.GetString(record.Message.Key), Codec.Deserialize<T>(value), record.Partition.Value, record.Offset.Value));
            }
        }

        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline && !until(records))
        {
            ConsumeOne();
        }

        for (var end = DateTime.UtcNow + settle; DateTime.UtcNow < end;)
        {
            ConsumeOne();
        }

        consumer.Close();
        return records;
    }

    /// <summary>Starts the scorer in-process against <paramref name="options"/>'s topics.</summary>
    public static async Task<WebApplication> StartScorerAsync(KafkaOptions options, string store, params string[] extra)
    {
        var app = ScorerApp.Build([
            $"--Kafka:BootstrapServers={options.BootstrapServers}",
            $"--Kafka:Topics:Suffix={options.Topics.Suffix}",
            $"--Kafka:SessionTimeout={Durations.Format(options.SessionTimeout)}",
            $"--Scorer:ModelStorePath={store}",
            $"--Scorer:ConsumerGroup=scorer{options.Topics.Suffix}",
            "--Scorer:ReloadPoll=100ms",
            "--Urls=http://127.0.0.1:0",
            "--Logging:LogLevel:Default=Warning",
            .. extra,
        ]);
        await app.StartAsync();
        return app;
    }

    /// <summary>GETs <paramref name="path"/> whatever its status.</summary>
    public static async Task<(HttpStatusCode Status, string Body)> GetAsync(HttpClient http, string path)
    {
        using var response = await http.GetAsync(new Uri(path, UriKind.Relative));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Polls /readyz (whatever its status) until its body shows <paramref name="line"/>.</summary>
    public static async Task<(HttpStatusCode Status, string Body)> WaitForReadinessAsync(HttpClient http, TimeSpan timeout, string line)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var (status, body) = (HttpStatusCode.ServiceUnavailable, "");
            try
            {
                (status, body) = await GetAsync(http, "/readyz");
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            if (body.Contains(line, StringComparison.Ordinal))
            {
                return (status, body);
            }

            Assert.True(DateTime.UtcNow < deadline, $"/readyz never showed '{line.TrimEnd()}'; last:\n{body}");
            await Task.Delay(100);
        }
    }

    /// <summary>
    /// Starts the scorer as its own OS process against <paramref name="options"/>' cluster and topics, serving the
    /// model "cancer" from <paramref name="store"/> in the consumer group "scorer" + the topic suffix, on a free port;
    /// <paramref name="settings"/> add or override environment variables (Section__Key; a null value removes one).
    /// </summary>
    public static ServiceProcess StartScorerProcess(KafkaOptions options, string store, Action<string> onLine, IReadOnlyDictionary<string, string?>? settings = null)
    {
        var environment = new Dictionary<string, string?>(EmbeddedKafkaFixture.EnvironmentFor(options))
        {
            ["Scorer__ModelStorePath"] = store,
            ["Scorer__ConsumerGroup"] = "scorer" + options.Topics.Suffix,
            ["Scorer__Models__0"] = "cancer",
            ["Urls"] = "http://127.0.0.1:0",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            environment[key] = value;
        }

        return ServiceProcess.Start(new ServiceProcessOptions(Path.Combine(AppContext.BaseDirectory, "StreamMonitor.Scorer.dll")) { Environment = environment, OnLine = onLine });
    }
}

/// <summary>A decoded record with its coordinates.</summary>
internal sealed record Record<T>(string Key, T Value, int Partition, long Offset);
