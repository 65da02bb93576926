using StreamMonitor.Aggregator.Topology;
using StreamMonitor.Kafka;
using StreamMonitor.Streams;

namespace StreamMonitor.Aggregator.Quality;

/// <summary>Settings of the quality topology.</summary>
/// <param name="Window">Tumbling window over prediction event time, with its grace: a window closes (no more
/// predictions) at end + grace of prediction stream time (<see cref="WindowSpec.CloseTime"/>).</param>
/// <param name="LabelHorizonMs">How long (task stream time) a prediction waits for its label and a label for its prediction.</param>
/// <param name="UpdateIntervalMs">Closed windows with new labels or expiries are re-emitted when task stream time passes a multiple of this.</param>
/// <param name="Topics">Topic names.</param>
/// <param name="IdleTimeoutMs">Idle rule: a task holding no unfinished window raises its prediction stream time to the
/// process watermark (largest prediction stream time of the process, event time) minus this, so a quiet partition does
/// not hold the merge's windows incomplete forever.</param>
/// <param name="Metrics">Where the task reports late predictions, dead letters and emitted partials (optional).</param>
/// <param name="RoutesMalformedPredictions">Dead-letter predictions the record policy rejects; false when stage A reads
/// the same partitions and already does (a record is dead-lettered once). Labels are always the join's own.</param>
public sealed record QualitySettings(WindowSpec Window, long LabelHorizonMs, long UpdateIntervalMs, TopicCatalog Topics, long IdleTimeoutMs = 600_000, ITaskMetrics? Metrics = null, bool RoutesMalformedPredictions = true);
