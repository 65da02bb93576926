using Prometheus;
using StreamMonitor.Contracts;

namespace StreamMonitor.Scorer;

/// <summary>
/// The scorer's Prometheus metrics. Histograms per stage (seconds), batch sizes, dispatch reasons, predictions by
/// status, errors by reason code, consumer lag per partition, the model version in service. Children with fixed
/// labels are resolved once so recording on the hot path does not allocate.
/// </summary>
public sealed class ScorerMetrics
{
    private static readonly double[] StageBuckets = Histogram.ExponentialBuckets(0.000_005, 2, 22); // 5 us .. ~10 s
    private readonly Histogram _stages;
    private readonly Histogram _batchRows;
    private readonly Counter _batches;
    private readonly Counter _predictions;
    private readonly Counter _errors;
    private readonly Gauge _lag;
    private readonly Gauge _modelInfo;
    private readonly Counter _swaps;
    private readonly Counter _loadFailures;
    private readonly Gauge _available;
    private readonly Counter _deliveryFailures;

    /// <summary>Creates the metrics in <paramref name="factory"/>.</summary>
    public ScorerMetrics(IMetricFactory factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        _stages = factory.CreateHistogram("streammon_scorer_stage_seconds", "Per-prediction latency of each scorer stage.",
            ["model", "stage"], new HistogramConfiguration { Buckets = StageBuckets });
        _batchRows = factory.CreateHistogram("streammon_scorer_batch_rows", "Rows per dispatched micro-batch.",
            ["model"], new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(1, 2, 13) });
        _batches = factory.CreateCounter("streammon_scorer_batches_total", "Dispatched micro-batches by dispatch reason.", ["model", "reason"]);
        _predictions = factory.CreateCounter("streammon_scorer_predictions_total", "Predictions handed to the producer by status.", ["model", "version", "status"]);
        _errors = factory.CreateCounter("streammon_scorer_errors_total", "Events that could not be scored, by reason code.", ["reason_code"]);
        _lag = factory.CreateGauge("streammon_scorer_consumer_lag", "High watermark minus position per assigned partition.", ["topic", "partition"]);
        _modelInfo = factory.CreateGauge("streammon_scorer_model_info", "1 for the model version in service.", ["model", "version", "sha256", "provider", "shadow"]);
        _swaps = factory.CreateCounter("streammon_scorer_model_swaps_total", "Hot swaps to a new model version.", ["model"]);
        _loadFailures = factory.CreateCounter("streammon_scorer_model_load_failures_total", "Model versions that failed to load or warm up.", ["model"]);
        _available = factory.CreateGauge("streammon_scorer_model_available", "1 while a version of the model is in service, 0 while none is (not loaded yet, or every version failed to load).", ["model"]);
        _deliveryFailures = factory.CreateCounter("streammon_scorer_delivery_failures_total", "Prediction deliveries that failed and were retried.");
    }

    /// <summary>Pre-resolved stage histograms of one model, in <see cref="PredictionTiming.StageNames"/> order.</summary>
    public Histogram.Child[] StageHistograms(string model) =>
        PredictionTiming.StageNames.Select(stage => _stages.WithLabels(model, stage)).ToArray();

    /// <summary>Batch-size histogram of one model.</summary>
    public Histogram.Child BatchRows(string model) => _batchRows.WithLabels(model);

    /// <summary>Batch counters of one model by <see cref="DispatchReason"/>.</summary>
    public Counter.Child[] Batches(string model) =>
        Enum.GetValues<DispatchReason>().Select(r => _batches.WithLabels(model, r.ToString())).ToArray();

    /// <summary>OK/ERROR prediction counters of one model version.</summary>
    public (Counter.Child Ok, Counter.Child Error) Predictions(string model, string version) =>
        (_predictions.WithLabels(model, version, nameof(PredictionStatus.OK)), _predictions.WithLabels(model, version, nameof(PredictionStatus.ERROR)));

    /// <summary>Counts an event that could not be scored.</summary>
    public void Error(string reasonCode) => _errors.WithLabels(reasonCode).Inc();

    /// <summary>Sets the lag of a partition.</summary>
    public void Lag(string topic, int partition, long lag) => _lag.WithLabels(topic, partition.ToString(System.Globalization.CultureInfo.InvariantCulture)).Set(lag);

    /// <summary>Marks a model version in or out of service.</summary>
    public void ModelInService(string model, string version, string sha256, string provider, bool shadow, bool inService) =>
        _modelInfo.WithLabels(model, version, sha256, provider, shadow ? "true" : "false").Set(inService ? 1 : 0);

    /// <summary>Counts a hot swap.</summary>
    public void Swapped(string model) => _swaps.WithLabels(model).Inc();

    /// <summary>Counts a version that could not be loaded.</summary>
    public void LoadFailed(string model) => _loadFailures.WithLabels(model).Inc();

    /// <summary>Marks whether a version of <paramref name="model"/> is in service.</summary>
    public void ModelAvailable(string model, bool available) => _available.WithLabels(model).Set(available ? 1 : 0);

    /// <summary>Counts a failed prediction delivery.</summary>
    public void DeliveryFailed() => _deliveryFailures.Inc();
}
