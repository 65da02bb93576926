namespace StreamMonitor.Slo;

/// <summary>Every problem found in an SLO file, one line each.</summary>
public sealed class SloValidationException : Exception
{
    /// <summary>Creates the exception from its error lines.</summary>
    public SloValidationException(IReadOnlyList<string> errors)
        : base("Invalid SLO configuration:" + Environment.NewLine + string.Join(Environment.NewLine, errors.Select(e => "  - " + e)))
    {
        Errors = errors;
    }

    /// <summary>Creates an exception with a message only.</summary>
    public SloValidationException()
        : this([])
    {
    }

    /// <summary>Creates an exception with one error line.</summary>
    public SloValidationException(string message)
        : this([message])
    {
    }

    /// <summary>Creates an exception with one error line and a cause.</summary>
    public SloValidationException(string message, Exception innerException)
        : base(message, innerException)
    {
        Errors = [message];
    }

    /// <summary>The individual problems.</summary>
    public IReadOnlyList<string> Errors { get; }
}
