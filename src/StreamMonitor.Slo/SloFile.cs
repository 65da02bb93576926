using System.Globalization;
using StreamMonitor.Contracts;
using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace StreamMonitor.Slo;

/// <summary>
/// Reads and validates an SLO file. The vocabulary follows OpenSLO where it fits (name, service, indicator as a
/// ratio of good over total, objectives target, timeWindow duration/isRolling/calendar.timeZone, budgetingMethod);
/// alert tiers are StreamMonitor's own. Every problem is reported at once, each naming the SLO and the field.
/// </summary>
public static class SloFile
{
    /// <summary>Loads and validates a file; throws <see cref="SloValidationException"/> listing every problem.</summary>
    public static IReadOnlyList<SloDefinition> Load(string path, TimeSpan resultWindow, TimeSpan? qualityWindow = null)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new SloValidationException([$"cannot read SLO file '{path}': {ex.Message}"]);
        }

        return Parse(text, resultWindow, path, qualityWindow);
    }

    /// <summary>
    /// Parses and validates YAML text. Periods and tier windows must be multiples of the result window the SLO
    /// consumes (<paramref name="resultWindow"/> for latency and availability, <paramref name="qualityWindow"/>,
    /// default the same, for quality), so every window sum is exact.
    /// </summary>
    public static IReadOnlyList<SloDefinition> Parse(string yaml, TimeSpan resultWindow, string source = "<yaml>", TimeSpan? qualityWindow = null)
    {
        SloFileDocument? document;
        try
        {
            var deserializer = new DeserializerBuilder().WithNamingConvention(CamelCaseNamingConvention.Instance).Build();
            document = deserializer.Deserialize<SloFileDocument>(yaml);
        }
        catch (YamlException ex)
        {
            var inner = ex.InnerException?.Message is { } detail ? $" ({detail})" : "";
            throw new SloValidationException([$"{source}: line {ex.Start.Line}, column {ex.Start.Column}: {ex.Message}{inner}"]);
        }

        var errors = new List<string>();
        var result = new List<SloDefinition>();
        if (document?.Slos is not { Count: > 0 } slos)
        {
            throw new SloValidationException([$"{source}: no SLOs defined (expected a top-level 'slos:' list)"]);
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < slos.Count; i++)
        {
            var slo = slos[i];
            var where = string.IsNullOrWhiteSpace(slo.Name) ? $"slos[{i}]" : $"SLO '{slo.Name}'";
            if (string.IsNullOrWhiteSpace(slo.Name))
            {
                errors.Add($"{where}: 'name' is required");
            }
            else if (!names.Add(slo.Name))
            {
                errors.Add($"{where}: duplicate SLO name");
            }

            var window = string.Equals(slo.Indicator?.Kind?.Trim(), "quality", StringComparison.OrdinalIgnoreCase) ? qualityWindow ?? resultWindow : resultWindow;
            if (Validate(slo, where, window, errors) is { } definition)
            {
                result.Add(definition);
            }
        }

        return errors.Count > 0 ? throw new SloValidationException(errors) : result;
    }

    private static SloDefinition? Validate(SloDocument slo, string where, TimeSpan resultWindow, List<string> errors)
    {
        var before = errors.Count;
        if (string.IsNullOrWhiteSpace(slo.Model))
        {
            errors.Add($"{where}: 'model' is required");
        }

        SliKind? sli = null;
        long? thresholdUs = null;
        var kind = slo.Indicator?.Kind?.Trim().ToLowerInvariant();
        switch (kind)
        {
            case "latency":
                sli = SliKind.Latency;
                if (!Durations.TryParse(slo.Indicator!.Threshold, out var threshold) || threshold <= TimeSpan.Zero)
                {
                    errors.Add($"{where}: a latency SLI needs 'indicator.threshold' as a duration (e.g. 50ms), got '{slo.Indicator.Threshold}'");
                }
                else
                {
                    thresholdUs = threshold.Ticks / TimeSpan.TicksPerMicrosecond;
                }

                break;
            case "availability":
                sli = SliKind.Availability;
                break;
            case "quality":
                sli = SliKind.Quality;
                break;
            default:
                errors.Add($"{where}: unknown SLI '{slo.Indicator?.Kind}' (indicator.kind must be latency, availability or quality)");
                break;
        }

        if (sli is not SliKind.Latency && slo.Indicator?.Threshold is not null)
        {
            errors.Add($"{where}: 'indicator.threshold' applies to latency SLIs only");
        }

        var target = slo.Objectives?.Target;
        if (target is not { } t || !(t > 0 && t < 1))
        {
            errors.Add($"{where}: 'objectives.target' must be a ratio strictly between 0 and 1 (e.g. 0.999), got '{target?.ToString(CultureInfo.InvariantCulture) ?? "nothing"}'");
        }

        if (!string.Equals(slo.BudgetingMethod ?? "Occurrences", "Occurrences", StringComparison.OrdinalIgnoreCase))
        {
            errors.Add($"{where}: budgetingMethod '{slo.BudgetingMethod}' is not supported (only Occurrences)");
        }

        var period = ParsePeriod(slo.TimeWindow, where, errors);
        if (period?.Rolling is { } rolling && rolling.Ticks % resultWindow.Ticks != 0)
        {
            errors.Add($"{where}: period {Durations.Format(rolling)} is not a multiple of the result window {Durations.Format(resultWindow)}");
        }

        TimeSpan? missingAfter = null;
        if (slo.MissingDataAfter is not null)
        {
            if (Durations.TryParse(slo.MissingDataAfter, out var span) && span > TimeSpan.Zero)
            {
                missingAfter = span;
            }
            else
            {
                errors.Add($"{where}: 'missingDataAfter' must be a positive duration, got '{slo.MissingDataAfter}'");
            }
        }

        var tiers = period is null || target is null ? [] : ValidateTiers(slo.AlertPolicy?.Tiers, period, target.Value, resultWindow, where, errors);
        if (errors.Count > before)
        {
            return null;
        }

        return new SloDefinition
        {
            Name = slo.Name!,
            Service = string.IsNullOrWhiteSpace(slo.Service) ? "scorer" : slo.Service,
            Model = slo.Model!,
            Sli = sli!.Value,
            LatencyThresholdUs = thresholdUs,
            Target = target!.Value,
            Period = period!,
            Tiers = tiers,
            Labels = slo.Labels ?? [],
            MissingDataAfter = missingAfter,
        };
    }

    private static SloPeriod? ParsePeriod(TimeWindowDocument? window, string where, List<string> errors)
    {
        if (window is null)
        {
            errors.Add($"{where}: 'timeWindow' is required (e.g. duration: 30d, isRolling: true)");
            return null;
        }

        if (window.IsRolling ?? true)
        {
            if (!Durations.TryParse(window.Duration, out var length) || length <= TimeSpan.Zero)
            {
                errors.Add($"{where}: rolling 'timeWindow.duration' must be a duration such as 30d, 28d or 7d, got '{window.Duration}'");
                return null;
            }

            if (window.Calendar is not null)
            {
                errors.Add($"{where}: 'timeWindow.calendar' needs isRolling: false");
                return null;
            }

            return SloPeriod.RollingOf(length);
        }

        if (!string.Equals(window.Duration, "1M", StringComparison.Ordinal))
        {
            errors.Add($"{where}: a calendar 'timeWindow' supports duration 1M (a calendar month), got '{window.Duration}'");
            return null;
        }

        var zoneId = window.Calendar?.TimeZone ?? "UTC";
        try
        {
            return SloPeriod.CalendarMonth(TimeZoneInfo.FindSystemTimeZoneById(zoneId));
        }
        catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            errors.Add($"{where}: unknown time zone '{zoneId}' in timeWindow.calendar.timeZone (use an IANA id such as Europe/Paris)");
            return null;
        }
    }

    private static List<BurnRateTierSpec> ValidateTiers(List<TierDocument>? tierDocs, SloPeriod period, double target, TimeSpan resultWindow, string where, List<string> errors)
    {
        var tiers = new List<BurnRateTierSpec>();
        if (tierDocs is null)
        {
            tiers.AddRange(DefaultTiers.For(period.Nominal));
        }
        else
        {
            foreach (var doc in tierDocs)
            {
                var name = doc.Name ?? "";
                var tierWhere = $"{where} tier '{name}'";
                if (string.IsNullOrWhiteSpace(name))
                {
                    errors.Add($"{where}: every tier needs a 'name'");
                    continue;
                }

                if (!Severities.All.Contains(doc.Severity ?? ""))
                {
                    errors.Add($"{tierWhere}: severity must be page or ticket, got '{doc.Severity}'");
                    continue;
                }

                if (!Durations.TryParse(doc.LongWindow, out var longWindow) || !Durations.TryParse(doc.ShortWindow, out var shortWindow)
                    || longWindow <= TimeSpan.Zero || shortWindow <= TimeSpan.Zero)
                {
                    errors.Add($"{tierWhere}: longWindow and shortWindow must be positive durations, got '{doc.LongWindow}' and '{doc.ShortWindow}'");
                    continue;
                }

                if ((doc.BurnRate is null) == (doc.BudgetShare is null))
                {
                    errors.Add($"{tierWhere}: give exactly one of burnRate or budgetShare");
                    continue;
                }

                var burnRate = doc.BurnRate ?? DefaultTiers.BurnRateFor(doc.BudgetShare!.Value, period.Nominal, longWindow);
                var share = doc.BudgetShare ?? DefaultTiers.BudgetShareFor(burnRate, period.Nominal, longWindow);
                if (!(burnRate > 0) || double.IsInfinity(burnRate))
                {
                    errors.Add($"{tierWhere}: burn rate must be positive, got {burnRate.ToString(CultureInfo.InvariantCulture)}");
                    continue;
                }

                tiers.Add(new BurnRateTierSpec(name, doc.Severity!, longWindow, shortWindow, burnRate, share));
            }
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var tier in tiers)
        {
            var tierWhere = $"{where} tier '{tier.Name}'";
            if (!seen.Add(tier.Name))
            {
                errors.Add($"{tierWhere}: duplicate tier name");
            }

            if (tier.BurnRate * (1 - target) > 1)
            {
                errors.Add(string.Create(CultureInfo.InvariantCulture,
                    $"{tierWhere}: can never fire: burn rate {tier.BurnRate:0.###} x error budget {1 - target:0.####} = {tier.BurnRate * (1 - target):0.###} > 1 (an error ratio above 100% would be needed); lower the burn rate or drop the tier"));
            }

            if (tier.ShortWindow >= tier.LongWindow)
            {
                errors.Add($"{tierWhere}: shortWindow {Durations.Format(tier.ShortWindow)} must be shorter than longWindow {Durations.Format(tier.LongWindow)}");
            }

            if (tier.LongWindow > (period.Rolling ?? TimeSpan.FromDays(28)))
            {
                errors.Add($"{tierWhere}: longWindow {Durations.Format(tier.LongWindow)} is longer than the period {period}");
            }

            if (tier.LongWindow.Ticks % resultWindow.Ticks != 0 || tier.ShortWindow.Ticks % resultWindow.Ticks != 0)
            {
                errors.Add($"{tierWhere}: windows {Durations.Format(tier.LongWindow)}/{Durations.Format(tier.ShortWindow)} must be multiples of the result window {Durations.Format(resultWindow)} to be summed exactly");
            }
        }

        return tiers;
    }
}
