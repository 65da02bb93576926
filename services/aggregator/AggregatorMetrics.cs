using Confluent.Kafka;
using Prometheus;
using StreamMonitor.Aggregator.Topology;
using StreamMonitor.Contracts;
using StreamMonitor.Streams;

namespace StreamMonitor.Aggregator;

/// <summary>
/// The aggregator's Prometheus metrics (served on /metrics). Counters count what this process did since it started,
/// records replayed after a restart from a checkpoint included; stream times and the watermark are event time (ms).
/// </summary>
public sealed class AggregatorMetrics : ITaskMetrics
{
    private readonly Counter _records;
    private readonly Counter _late;
    private readonly Counter _deadLetters;
    private readonly Counter _rejected;
    private readonly Counter _driftSkipped;
    private readonly Counter _windows;
    private readonly Counter _checkpoints;
    private readonly Gauge _streamTime;
    private readonly Gauge _watermark;
    private readonly Counter _mergeDuplicates;
    private readonly Counter _mergeExpired;
    private readonly ProgressBoard _progress;

    /// <summary>Creates the metrics in <paramref name="factory"/>; the watermark gauge follows <paramref name="progress"/>.</summary>
    public AggregatorMetrics(IMetricFactory factory, ProgressBoard progress)
    {
        ArgumentNullException.ThrowIfNull(factory);
        _progress = progress ?? throw new ArgumentNullException(nameof(progress));
        _records = factory.CreateCounter("streammon_aggregator_records_total", "Input records processed, by processor and topic.", ["processor", "topic"]);
        _late = factory.CreateCounter("streammon_aggregator_late_records_total", "Records routed to the late-events topic, by input topic.", ["topic"]);
        _deadLetters = factory.CreateCounter("streammon_aggregator_dead_letters_total", "Records sent to the dead-letter topic, by reason code.", ["reason_code"]);
        _rejected = factory.CreateCounter("streammon_aggregator_rejected_records_total", "Input records the record policy rejected, by input topic and reason code (dead-lettered, or only counted for feature events, which the scorer dead-letters).", ["topic", "reason_code"]);
        _driftSkipped = factory.CreateCounter("streammon_aggregator_drift_skipped_total", "Valid feature events of models without a drift profile: drift is not computed for them (no model label: model names are input).");
        _windows = factory.CreateCounter("streammon_aggregator_windows_emitted_total", "Window partials (stage A: final or provisional) and results (stage B) emitted, by kind.", ["kind", "output"]);
        _checkpoints = factory.CreateCounter("streammon_aggregator_checkpoints_total", "Task checkpoints written, by processor.", ["processor"]);
        _streamTime = factory.CreateGauge("streammon_aggregator_stream_time_ms", "Largest stream time of the processor's tasks (event time, epoch ms).", ["processor"]);
        _watermark = factory.CreateGauge("streammon_aggregator_watermark_ms", "The process watermark idle partitions are flushed against (event time, epoch ms).");
        _mergeDuplicates = factory.CreateCounter("streammon_aggregator_merge_duplicates_total", "Partials of complete windows ignored by the merge as replayed duplicates.");
        _mergeExpired = factory.CreateCounter("streammon_aggregator_merge_expired_total", "Partials dead-lettered by the merge after their window was dropped (PARTIAL_EXPIRED).");
    }

    /// <summary>The processor-level view for the processor named <paramref name="processor"/> ("stage-a", "stage-b").</summary>
    public IProcessorMetrics ForProcessor(string processor) => new ProcessorView(this, processor);

    /// <inheritdoc />
    public void Late(string topic) => _late.WithLabels(topic).Inc();

    /// <inheritdoc />
    public void DeadLetter(string reasonCode) => _deadLetters.WithLabels(reasonCode).Inc();

    /// <inheritdoc />
    public void Rejected(string topic, string reasonCode) => _rejected.WithLabels(topic, reasonCode).Inc();

    /// <inheritdoc />
    public void DriftSkipped() => _driftSkipped.Inc();

    /// <inheritdoc />
    public void PartialEmitted(WindowKind kind, bool final) => _windows.WithLabels(kind.ToString(), final ? "final_partial" : "provisional_partial").Inc();

    /// <inheritdoc />
    public void ResultEmitted(WindowKind kind) => _windows.WithLabels(kind.ToString(), "result").Inc();

    /// <inheritdoc />
    public void MergeDuplicate() => _mergeDuplicates.Inc();

    /// <inheritdoc />
    public void MergeExpired() => _mergeExpired.Inc();

    private sealed class ProcessorView(AggregatorMetrics metrics, string processor) : IProcessorMetrics
    {
        private readonly Dictionary<string, Counter.Child> _byTopic = new(StringComparer.Ordinal);
        private readonly Gauge.Child _streamTime = metrics._streamTime.WithLabels(processor);
        private readonly Counter.Child _checkpoints = metrics._checkpoints.WithLabels(processor);

        public void Processed(TopicPartition partition, long streamTimeMs)
        {
            // One processing thread per processor: the cache needs no lock.
            if (!_byTopic.TryGetValue(partition.Topic, out var counter))
            {
                _byTopic[partition.Topic] = counter = metrics._records.WithLabels(processor, partition.Topic);
            }

            counter.Inc();
            if (streamTimeMs != long.MinValue)
            {
                _streamTime.IncTo(streamTimeMs);
            }

            var watermark = metrics._progress.Watermark;
            if (watermark != long.MinValue)
            {
                metrics._watermark.IncTo(watermark);
            }
        }

        public void Checkpointed(int count) => _checkpoints.Inc(count);
    }
}
