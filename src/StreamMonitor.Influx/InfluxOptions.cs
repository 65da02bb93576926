using System.ComponentModel.DataAnnotations;

namespace StreamMonitor.Influx;

/// <summary>
/// Connection, batching and retry settings of the InfluxDB 1.x HTTP API client (configuration section "Influx").
/// The writer holds at most <see cref="BufferCapacity"/> + <see cref="BatchSize"/> points in memory: the buffer plus
/// the batch in flight.
/// </summary>
public sealed class InfluxOptions : IValidatableObject
{
    /// <summary>Configuration section name.</summary>
    public const string SectionName = "Influx";

    /// <summary>
    /// Base URL of the 1.x HTTP API (InfluxDB 1.x, or 2.x's v1 compatibility API). Credentials in it
    /// (http://user:password@host:8086) are used for basic authentication when <see cref="Username"/> is empty. Logs and
    /// error messages show it redacted (<see cref="UrlRedaction"/>).
    /// </summary>
    [Required(AllowEmptyStrings = false)]
    public string Url { get; set; } = "http://127.0.0.1:8086";

    /// <summary>Database written to and queried.</summary>
    [Required(AllowEmptyStrings = false)]
    public string Database { get; set; } = "streammon";

    /// <summary>Retention policy of writes and queries; empty means the database's default.</summary>
    public string? RetentionPolicy { get; set; }

    /// <summary>User name for HTTP basic authentication; none when empty.</summary>
    public string? Username { get; set; }

    /// <summary>Password for HTTP basic authentication.</summary>
    public string? Password { get; set; }

    /// <summary>Most points per /write request.</summary>
    [Range(1, 1_000_000)]
    public int BatchSize { get; set; } = 5000;

    /// <summary>Longest time a point waits in the buffer before its batch is sent.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:10:00")]
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Points the buffer holds before <see cref="InfluxWriter.WriteAsync(LinePoint, CancellationToken)"/> waits (backpressure).</summary>
    [Range(1, 100_000_000)]
    public int BufferCapacity { get; set; } = 100_000;

    /// <summary>
    /// Retries of one batch after 5xx, connection errors and timeouts; 0 retries forever (the default), so a
    /// server outage stalls the writer and backpressures producers instead of losing points.
    /// </summary>
    [Range(0, int.MaxValue)]
    public int MaxRetries { get; set; }

    /// <summary>First retry delay; later delays grow exponentially with jitter.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:10:00")]
    public TimeSpan RetryInitialDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Cap of the retry delay.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "01:00:00")]
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Timeout of one HTTP attempt.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long disposing the writer waits to drain its buffer before counting the rest as failed.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// When a write answers "database not found", create the database (CREATE DATABASE is idempotent) and write again,
    /// instead of rejecting the points. Needs a user allowed to create databases when authentication is on.
    /// </summary>
    public bool CreateDatabase { get; set; } = true;

    /// <summary>Compress request bodies with gzip.</summary>
    public bool Gzip { get; set; } = true;

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!Uri.TryCreate(Url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            yield return new ValidationResult($"must be an absolute http or https URL (got '{UrlRedaction.Redact(Url)}')", [nameof(Url)]);
        }

        if (RetryMaxDelay < RetryInitialDelay)
        {
            yield return new ValidationResult("must not be smaller than RetryInitialDelay", [nameof(RetryMaxDelay)]);
        }

        if (!string.IsNullOrEmpty(Password) && string.IsNullOrEmpty(Username))
        {
            yield return new ValidationResult("is required when Password is set", [nameof(Username)]);
        }
    }

    /// <summary>A copy of these options for another database (tests and the CLI use one database per run).</summary>
    public InfluxOptions WithDatabase(string database)
    {
        var copy = (InfluxOptions)MemberwiseClone();
        copy.Database = database;
        return copy;
    }
}
