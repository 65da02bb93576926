using Prometheus;

namespace StreamMonitor.Hosting.Projection;

/// <summary>
/// A projection's counters (served on /metrics), named after its service ("streammon_{service}_projection_…"); labels
/// are reason codes, outcomes and fixed stage names only.
/// </summary>
public sealed class ProjectionMetrics
{
    private readonly Counter _rejected;
    private readonly Counter _failures;
    private readonly Counter _points;

    /// <summary>Creates the counters of <paramref name="service"/>'s projection in <paramref name="factory"/>.</summary>
    public ProjectionMetrics(IMetricFactory factory, string service)
    {
        ArgumentNullException.ThrowIfNull(factory);
        ArgumentException.ThrowIfNullOrWhiteSpace(service);
        _rejected = factory.CreateCounter($"streammon_{service}_projection_rejected_total", "Records not (fully) projected into InfluxDB, by reason code (PROJECTION_REJECTED: points line protocol cannot carry, dead-lettered; other codes: refused on decoding).", ["reason_code"]);
        _failures = factory.CreateCounter($"streammon_{service}_projection_failures_total", "Projection failures logged and survived, by stage (consume, project, write, writer, commit, dead_letter).", ["stage"]);
        _points = factory.CreateCounter($"streammon_{service}_projection_points_total", "InfluxDB projection points by outcome (queued: handed to the writer, which waits while InfluxDB is down; rejected: line protocol cannot carry it).", ["outcome"]);
    }

    /// <summary>A record not (fully) projected, with <paramref name="reasonCode"/>.</summary>
    public void Rejected(string reasonCode) => _rejected.WithLabels(reasonCode).Inc();

    /// <summary><paramref name="count"/> points line protocol cannot carry.</summary>
    public void PointsRejected(int count) => _points.WithLabels("rejected").Inc(count);

    /// <summary><paramref name="count"/> points handed to the writer.</summary>
    public void Queued(int count) => _points.WithLabels("queued").Inc(count);

    /// <summary>A failure at <paramref name="stage"/> that the projection survived.</summary>
    public void Failure(string stage) => _failures.WithLabels(stage).Inc();
}
