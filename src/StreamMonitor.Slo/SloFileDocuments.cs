namespace StreamMonitor.Slo;

#pragma warning disable CA1812, CA2227, CA1002 // YAML document shapes: instantiated and filled by YamlDotNet.
internal sealed class SloFileDocument
{
    public string? ApiVersion { get; set; }

    public List<SloDocument>? Slos { get; set; }
}

internal sealed class SloDocument
{
    public string? Name { get; set; }

    public string? Description { get; set; }

    public string? Service { get; set; }

    public string? Model { get; set; }

    public IndicatorDocument? Indicator { get; set; }

    public ObjectivesDocument? Objectives { get; set; }

    public TimeWindowDocument? TimeWindow { get; set; }

    public string? BudgetingMethod { get; set; }

    public Dictionary<string, string>? Labels { get; set; }

    public string? MissingDataAfter { get; set; }

    public AlertPolicyDocument? AlertPolicy { get; set; }
}

internal sealed class IndicatorDocument
{
    public string? Kind { get; set; }

    public string? Threshold { get; set; }
}

internal sealed class ObjectivesDocument
{
    public double? Target { get; set; }
}

internal sealed class TimeWindowDocument
{
    public string? Duration { get; set; }

    public bool? IsRolling { get; set; }

    public CalendarDocument? Calendar { get; set; }
}

internal sealed class CalendarDocument
{
    public string? TimeZone { get; set; }
}

internal sealed class AlertPolicyDocument
{
    public List<TierDocument>? Tiers { get; set; }
}

internal sealed class TierDocument
{
    public string? Name { get; set; }

    public string? Severity { get; set; }

    public string? LongWindow { get; set; }

    public string? ShortWindow { get; set; }

    public double? BurnRate { get; set; }

    public double? BudgetShare { get; set; }
}
#pragma warning restore CA1812, CA2227, CA1002
