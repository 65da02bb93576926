namespace StreamMonitor.Hosting;

/// <summary>
/// Whether the service is ready for traffic (/readyz). A service marks itself ready once it can do its work,
/// e.g. after model warm-up and partition assignment, and not ready again while it cannot.
/// </summary>
public interface IReadinessGate
{
    /// <summary>Whether /readyz answers 200.</summary>
    bool IsReady { get; }

    /// <summary>Why the service is not ready (shown by /readyz); empty when ready.</summary>
    string Reason { get; }

    /// <summary>Marks the service ready.</summary>
    void MarkReady();

    /// <summary>Marks the service not ready, with the reason.</summary>
    void MarkNotReady(string reason);

    /// <summary>
    /// Lines /readyz shows below its first line, ready or not, e.g. the state of each model of a service that can
    /// serve with some of them unavailable; empty when none.
    /// </summary>
    string Details { get; }

    /// <summary>Replaces the lines <see cref="Details"/> returns (one item each; empty clears them).</summary>
    void SetDetails(string details);
}

/// <summary>Thread-safe <see cref="IReadinessGate"/>; starts not ready ("starting").</summary>
public sealed class ReadinessGate : IReadinessGate
{
    private volatile string _reason = "starting";
    private volatile string _details = "";

    /// <inheritdoc />
    public bool IsReady => _reason.Length == 0;

    /// <inheritdoc />
    public string Reason => _reason;

    /// <inheritdoc />
    public void MarkReady() => _reason = "";

    /// <inheritdoc />
    public void MarkNotReady(string reason)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        _reason = reason;
    }

    /// <inheritdoc />
    public string Details => _details;

    /// <inheritdoc />
    public void SetDetails(string details)
    {
        ArgumentNullException.ThrowIfNull(details);
        _details = details.Length == 0 || details.EndsWith('\n') ? details : details + "\n";
    }
}
