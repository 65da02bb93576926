namespace StreamMonitor.Influx;

/// <summary>
/// Points that were accepted by <see cref="InfluxWriter"/> but not written: rejected by InfluxDB (4xx, bad data) or
/// failed (retries exhausted, or the writer shut down while InfluxDB was unreachable). Thrown by
/// <see cref="InfluxWriter.FlushAsync"/> so that such loss is never silent.
/// </summary>
public sealed class InfluxWriteException : Exception
{
    /// <summary>Creates the exception.</summary>
    public InfluxWriteException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public InfluxWriteException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    public InfluxWriteException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Points rejected by the server (4xx) since the previous report.</summary>
    public long RejectedPoints { get; init; }

    /// <summary>Points given up on (retries exhausted or shutdown) since the previous report.</summary>
    public long FailedPoints { get; init; }
}
