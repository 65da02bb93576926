namespace StreamMonitor.Influx;

/// <summary>Counters of an <see cref="InfluxWriter"/> since it was created.</summary>
/// <param name="Accepted">Points taken into the buffer.</param>
/// <param name="Written">Points InfluxDB acknowledged (2xx).</param>
/// <param name="Rejected">Points InfluxDB refused as bad data (4xx); isolated one by one by splitting the batch.</param>
/// <param name="Failed">Points given up on after the configured retries or at shutdown.</param>
/// <param name="Retries">HTTP attempts that were retried (5xx, connection error, timeout).</param>
/// <param name="Batches">Successful /write requests.</param>
/// <param name="Pending">Points accepted but not yet written, rejected or failed (buffer plus batch in flight).</param>
public readonly record struct InfluxWriterStatistics(
    long Accepted, long Written, long Rejected, long Failed, long Retries, long Batches, long Pending);
