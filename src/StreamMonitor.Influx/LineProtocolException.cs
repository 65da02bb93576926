namespace StreamMonitor.Influx;

/// <summary>A name or value that InfluxDB line protocol cannot carry exactly (newline, control character, NaN, ...).</summary>
public sealed class LineProtocolException : ArgumentException
{
    /// <summary>Creates the exception.</summary>
    public LineProtocolException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public LineProtocolException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    public LineProtocolException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
