using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;
using StreamMonitor.Contracts;
using StreamMonitor.Models.Inference;

/// <summary>What the bench's sections share: raw throughput, percentiles, bench events and their producing.</summary>
internal static class BenchSupport
{
    /// <summary>Rows per second of back-to-back runs of the first <paramref name="batch"/> filled rows for at least <paramref name="minSeconds"/> (3 warm-up runs first).</summary>
    public static (double RowsPerSecond, int Runs, double Seconds) RawThroughput(ModelSession session, int batch, double minSeconds)
    {
        for (var i = 0; i < 3; i++)
        {
            session.Run(batch);
        }

        var runs = 0;
        var start = Stopwatch.GetTimestamp();
        while (runs < 5 || Stopwatch.GetElapsedTime(start).TotalSeconds < minSeconds)
        {
            session.Run(batch);
            runs++;
        }

        var seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        return (batch * runs / seconds, runs, seconds);
    }

    public static double Cpu() => System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;

    public static double Pct(double[] sorted, double p) => sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Length) - 1, 0, sorted.Length - 1)];

    public static void Fill(Span<float> row, double[] values)
    {
        for (var j = 0; j < values.Length; j++)
        {
            row[j] = (float)values[j];
        }
    }

    public static FeatureEvent ToEvent(IReadOnlyList<string> features, double[] row, int i, string model)
    {
        var ev = new FeatureEvent { EventId = "e-" + i.ToString("D8", CultureInfo.InvariantCulture), ModelName = model, EntityId = "patient-" + (i % 500).ToString(CultureInfo.InvariantCulture), EventTimeMs = 1_700_000_000_000 + i };
        for (var j = 0; j < features.Count; j++)
        {
            ev.Features[features[j]] = row[j];
        }

        return ev;
    }

    public static ProducerConfig WithThroughput(ProducerConfig config)
    {
        config.LingerMs = 20;
        config.BatchSize = 1_000_000;
        config.QueueBufferingMaxMessages = 1_000_000;
        return config;
    }

    public static void ProduceWithBackpressure(IProducer<byte[], byte[]> producer, string topic, Message<byte[], byte[]> message)
    {
        while (true)
        {
            try
            {
                producer.Produce(topic, message);
                return;
            }
            catch (ProduceException<byte[], byte[]> ex) when (ex.Error.Code == ErrorCode.Local_QueueFull)
            {
                producer.Poll(TimeSpan.FromMilliseconds(20));
            }
        }
    }

    public static string FindData()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "data", "breast_cancer_wisconsin.csv")))
        {
            dir = dir.Parent;
        }

        return dir is null ? throw new FileNotFoundException("data/breast_cancer_wisconsin.csv not found above " + AppContext.BaseDirectory) : Path.Combine(dir.FullName, "data", "breast_cancer_wisconsin.csv");
    }
}
