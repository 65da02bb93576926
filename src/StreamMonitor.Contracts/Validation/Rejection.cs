namespace StreamMonitor.Contracts.Validation;

/// <summary>Why an input record was refused: a stable code from <see cref="ReasonCodes"/> and a readable detail.</summary>
/// <param name="ReasonCode">One of <see cref="ReasonCodes"/>.</param>
/// <param name="Detail">What exactly was wrong (never the whole payload).</param>
/// <param name="EventTimeMs">The record's event time when it could be read, for the dead letter.</param>
public sealed record Rejection(string ReasonCode, string Detail, long? EventTimeMs = null)
{
    /// <summary>"CODE: detail", as written into a prediction's error_reason.</summary>
    public override string ToString() => $"{ReasonCode}: {Detail}";

    /// <summary>The rejection of bytes that did not decode.</summary>
    public static Rejection Of(EventDecodeException error)
    {
        ArgumentNullException.ThrowIfNull(error);
        return new Rejection(error.ReasonCode, error.Message);
    }
}

/// <summary>The outcome of decoding and validating one record: a valid event or a <see cref="Rejection"/>.</summary>
/// <typeparam name="T">The event type.</typeparam>
public readonly struct Validated<T>
    where T : class
{
    private Validated(T? value, Rejection? rejection)
    {
        Value = value;
        Rejection = rejection;
    }

    /// <summary>The valid event (null when rejected).</summary>
    public T? Value { get; }

    /// <summary>Why the record was refused (null when valid).</summary>
    public Rejection? Rejection { get; }

    /// <summary>Whether the record is a valid event.</summary>
    public bool IsValid => Value is not null;

    /// <summary>A valid event.</summary>
    public static Validated<T> Valid(T value) => new(value ?? throw new ArgumentNullException(nameof(value)), null);

    /// <summary>A refused record.</summary>
    public static Validated<T> Rejected(Rejection rejection) => new(null, rejection ?? throw new ArgumentNullException(nameof(rejection)));

    /// <summary>Deconstructs into the event or the rejection.</summary>
    public bool TryGet([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out T? value, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out Rejection? rejection)
    {
        value = Value;
        rejection = Rejection;
        return value is not null;
    }
}
