using Confluent.Kafka;
using Prometheus;
using StreamMonitor.Contracts;
using StreamMonitor.Models.Inference;

namespace StreamMonitor.Scorer;

/// <summary>A consumed record and when it arrived.</summary>
internal sealed record RecordContext(ConsumeResult<byte[], byte[]> Record, long ConsumeTicks, long ConsumedAtMs)
{
    /// <summary>The record's Kafka timestamp, or null when it has none.</summary>
    public long? RecordTimestampMs => Record.Message.Timestamp.Type == TimestampType.NotAvailable ? null : Record.Message.Timestamp.UnixTimestampMs;
}

/// <summary>A row waiting in a batch; instances are reused batch after batch.</summary>
internal sealed class PendingRow
{
    public FeatureEvent Event { get; private set; } = null!;

    public RecordContext Context { get; private set; } = null!;

    public RowClock Clock { get; private set; }

    public void Set(FeatureEvent featureEvent, RecordContext context, long enqueueTicks)
    {
        Event = featureEvent;
        Context = context;
        Clock = new RowClock(context.ConsumeTicks, enqueueTicks);
    }
}

/// <summary>Per served model: the version in service, its shadow, the batcher, the waiting rows and the pre-resolved metrics.</summary>
internal sealed class ModelSlot : IDisposable
{
    public ModelSlot(string name, ScorerOptions options, ScorerMetrics metrics)
    {
        Name = name;
        ShadowName = options.Shadows.GetValueOrDefault(name);
        Batcher = new MicroBatcher(options.BatchSize, options.QueueDelay.Ticks * System.Diagnostics.Stopwatch.Frequency / TimeSpan.TicksPerSecond, options.DispatchWhenIdle);
        Rows = Enumerable.Range(0, options.BatchSize).Select(_ => new PendingRow()).ToArray();
        ShadowRowMap = new int[options.BatchSize];
        Timings = new PredictionTiming[options.BatchSize];
        Stages = metrics.StageHistograms(name);
        BatchRows = metrics.BatchRows(name);
        Batches = metrics.Batches(name);
        OkCounter = metrics.Predictions(name, "").Ok;
    }

    public string Name { get; }

    public string? ShadowName { get; }

    public ServedModel? Current { get; set; }

    public ServedModel? Shadow { get; set; }

    public MicroBatcher Batcher { get; }

    public PendingRow[] Rows { get; }

    public int[] ShadowRowMap { get; }

    /// <summary>The timings of the batch just published, recorded in the metrics once every row is handed off.</summary>
    public PredictionTiming[] Timings { get; }

    /// <summary>Stage histograms, indexed by <see cref="PredictionStage"/>.</summary>
    public Histogram.Child[] Stages { get; }

    public Histogram.Child BatchRows { get; }

    public Counter.Child[] Batches { get; }

    public Counter.Child OkCounter { get; set; }

    public void Dispose()
    {
        Current?.Dispose();
        Shadow?.Dispose();
    }
}
