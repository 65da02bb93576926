using System.ComponentModel.DataAnnotations;

namespace StreamMonitor.Contracts;

/// <summary>
/// Validates a <see cref="TimeSpan"/> option against an inclusive range written in <see cref="Durations"/> notation,
/// e.g. <c>[DurationRange("0s", "1d")]</c>; the message names the bounds in the same notation ("must be between 0s and 1d").
/// </summary>
[AttributeUsage(AttributeTargets.Property, AllowMultiple = false)]
public sealed class DurationRangeAttribute : ValidationAttribute
{
    /// <summary>Creates the rule; both bounds are parsed here, so a bad bound fails when the attribute is first read.</summary>
    /// <param name="minimum">Smallest value allowed, e.g. "0s" or "1ms".</param>
    /// <param name="maximum">Largest value allowed, e.g. "1d".</param>
    public DurationRangeAttribute(string minimum, string maximum)
    {
        Minimum = minimum;
        Maximum = maximum;
        MinimumValue = Durations.Parse(minimum);
        MaximumValue = Durations.Parse(maximum);
    }

    /// <summary>Smallest value allowed, as written.</summary>
    public string Minimum { get; }

    /// <summary>Largest value allowed, as written.</summary>
    public string Maximum { get; }

    /// <summary>Smallest value allowed.</summary>
    public TimeSpan MinimumValue { get; }

    /// <summary>Largest value allowed.</summary>
    public TimeSpan MaximumValue { get; }

    /// <summary>
    /// Whether the value must be whole milliseconds: set it on an event-time quantity, which is counted in
    /// milliseconds, so that "1.5ms" or "00:00:00.0015" is refused instead of silently cut to 1 ms.
    /// </summary>
    public bool WholeMilliseconds { get; set; }

    /// <inheritdoc />
    public override bool IsValid(object? value) => value is TimeSpan span && span >= MinimumValue && span <= MaximumValue
        && (!WholeMilliseconds || Durations.IsWholeMilliseconds(span));

    /// <inheritdoc />
    public override string FormatErrorMessage(string name) =>
        $"{name} must be between {Minimum} and {Maximum}{(WholeMilliseconds ? ", in whole milliseconds" : "")}.";
}

/// <summary>
/// Marks an option that replaced a former configuration key (<c>GraceMs</c> became the duration <c>Grace</c>): the
/// options validation of StreamMonitor.Hosting fails at start-up while the former key is still configured, naming the
/// new key, so an old setting is never silently ignored.
/// </summary>
[AttributeUsage(AttributeTargets.Property, AllowMultiple = false)]
public sealed class RenamedFromAttribute : Attribute
{
    /// <summary>Creates the marker.</summary>
    /// <param name="formerName">The former key, relative to the options section, e.g. "GraceMs".</param>
    /// <param name="formerUnit">Unit of a number under the former key ("ms" or "s"), to show the value in the new notation.</param>
    public RenamedFromAttribute(string formerName, string formerUnit)
    {
        FormerName = formerName;
        FormerUnit = formerUnit;
    }

    /// <summary>The former key, relative to the options section.</summary>
    public string FormerName { get; }

    /// <summary>Unit of a number under the former key, in <see cref="Durations"/> notation.</summary>
    public string FormerUnit { get; }
}
