using Confluent.Kafka.Admin;

namespace StreamMonitor.Kafka;

/// <summary>
/// The one place that names StreamMonitor's topics and their partition counts. Topics whose records are joined by
/// key (features, predictions, labels) must have equal partition counts: that is what co-partitioning needs.
/// A namespace suffix (for replays) is appended to every name, so a replay never touches the live topics.
/// </summary>
public sealed class TopicCatalog
{
    /// <summary>Partition count of the keyed input topics (features, predictions, labels).</summary>
    public int InputPartitions { get; set; } = 4;

    /// <summary>Partition count of result, alert and checkpoint topics.</summary>
    public int ResultPartitions { get; set; } = 4;

    /// <summary>Suffix appended to every topic name (e.g. ".replay-20261122"); empty for the live namespace.</summary>
    public string Suffix { get; set; } = "";

    /// <summary>Prefix of every topic name.</summary>
    public string Prefix { get; set; } = "streammon.";

    /// <summary>FeatureEvent records, keyed by event id.</summary>
    public string Features => Name("features");

    /// <summary>Prediction records, keyed by event id.</summary>
    public string Predictions => Name("predictions");

    /// <summary>Predictions of the shadow model, keyed by event id.</summary>
    public string ShadowPredictions => Name("predictions.shadow");

    /// <summary>Label records, keyed by event id.</summary>
    public string Labels => Name("labels");

    /// <summary>DeadLetter records from every service.</summary>
    public string DeadLetter => Name("deadletter");

    /// <summary>Records that arrived after their window closed (original bytes, DeadLetter envelope).</summary>
    public string LateEvents => Name("late-events");

    /// <summary>Partial window results per source partition, before the cross-partition merge.</summary>
    public string WindowPartials => Name("window-partials");

    /// <summary>Compacted: latency window results keyed by <c>WindowKey</c>.</summary>
    public string LatencyResults => Name("results.latency");

    /// <summary>Compacted: drift window results keyed by <c>WindowKey</c>.</summary>
    public string DriftResults => Name("results.drift");

    /// <summary>Compacted: quality window results keyed by <c>WindowKey</c>.</summary>
    public string QualityResults => Name("results.quality");

    /// <summary>Compacted: SLO status keyed by SLO name.</summary>
    public string SloStatus => Name("slo-status");

    /// <summary>Compacted: alerts keyed by alert id.</summary>
    public string Alerts => Name("alerts");

    /// <summary>Compacted: the aggregator's checkpoints (state + input offsets) keyed by task.</summary>
    public string AggregatorCheckpoints => Name("checkpoints.aggregator");

    /// <summary>
    /// Internal: the labels repartitioned by event id with murmur2 (the aggregator's label repartition step), so label p
    /// meets prediction p whatever partitioner the user's producer used; partitioned like predictions.
    /// </summary>
    public string LabelsById => Name("labels-by-id");

    /// <summary>
    /// Compacted: the quality join's state (pending predictions, waiting labels, windows) as changelog entries keyed by
    /// (generation, entry); partitioned like predictions and labels (partition p holds task p's state).
    /// </summary>
    public string QualityChangelog => Name("changelog.aggregator-quality");

    /// <summary>Compacted: the alerter's checkpoints keyed by evaluator.</summary>
    public string AlerterCheckpoints => Name("checkpoints.alerter");

    /// <summary>Every topic with its partition count and whether it is compacted.</summary>
    public IReadOnlyList<TopicSpec> All =>
    [
        new(Features, InputPartitions, Compacted: false),
        new(Predictions, InputPartitions, Compacted: false),
        new(ShadowPredictions, InputPartitions, Compacted: false),
        new(Labels, InputPartitions, Compacted: false),
        new(LabelsById, InputPartitions, Compacted: false),
        new(DeadLetter, ResultPartitions, Compacted: false),
        new(LateEvents, ResultPartitions, Compacted: false),
        new(WindowPartials, ResultPartitions, Compacted: true),
        new(LatencyResults, ResultPartitions, Compacted: true),
        new(DriftResults, ResultPartitions, Compacted: true),
        new(QualityResults, ResultPartitions, Compacted: true),
        new(SloStatus, ResultPartitions, Compacted: true),
        new(Alerts, ResultPartitions, Compacted: true),
        new(AggregatorCheckpoints, ResultPartitions, Compacted: true),
        new(QualityChangelog, InputPartitions, Compacted: true),
        new(AlerterCheckpoints, ResultPartitions, Compacted: true),
    ];

    /// <summary>Admin API specifications of <see cref="All"/>: compacted topics get cleanup.policy=compact.</summary>
    public IReadOnlyList<TopicSpecification> Specifications(short replicationFactor) => All.Select(t => new TopicSpecification
    {
        Name = t.Name,
        NumPartitions = t.Partitions,
        ReplicationFactor = replicationFactor,
        Configs = t.Compacted ? new Dictionary<string, string> { ["cleanup.policy"] = "compact" } : null,
    }).ToList();

    private string Name(string topic) => Prefix + topic + Suffix;
}

/// <summary>A topic to create.</summary>
public sealed record TopicSpec(string Name, int Partitions, bool Compacted);
