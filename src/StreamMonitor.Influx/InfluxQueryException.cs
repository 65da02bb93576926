namespace StreamMonitor.Influx;

/// <summary>An InfluxQL query that InfluxDB answered with an error (HTTP or statement level).</summary>
public sealed class InfluxQueryException : Exception
{
    /// <summary>Creates the exception.</summary>
    public InfluxQueryException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public InfluxQueryException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    public InfluxQueryException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
