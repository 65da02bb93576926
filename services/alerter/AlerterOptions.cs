using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.Validation;
using StreamMonitor.Influx;
using StreamMonitor.Slo;

namespace StreamMonitor.Alerter;

/// <summary>
/// The alerter's settings (configuration section "Alerter"). Durations are <see cref="TimeSpan"/>s bound from the short
/// notation (30s, 5m, 1h, 7d) or the .NET form (00:00:30).
/// Evaluation settings are event time; the notification timers (group wait/interval, repeat) are wall clock because
/// they govern delivery, not what an alert is.
/// </summary>
public sealed class AlerterOptions : IValidatableObject
{
    /// <summary>Configuration section name.</summary>
    public const string SectionName = "Alerter";

    /// <summary>Path of the SLO file (relative paths resolve against the working directory, then the app directory).</summary>
    [Required(AllowEmptyStrings = false)]
    public string SloFile { get; set; } = "config/slos.yaml";

    /// <summary>Identity of this evaluator: the checkpoint key. Two alerters with different ids keep separate state.</summary>
    [Required(AllowEmptyStrings = false)]
    public string EvaluatorId { get; set; } = "alerter";

    /// <summary>Size of the latency results consumed (latency/availability SLIs, latency regression); others are ignored so nothing is counted twice.</summary>
    public TimeSpan ResultWindow { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Size of the quality results consumed.</summary>
    public TimeSpan QualityWindow { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Size of the drift results consumed.</summary>
    public TimeSpan DriftWindow { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Event time its group's watermark must pass a latency or drift tick by before it is evaluated (results arriving within it count whatever their order).</summary>
    public TimeSpan AllowedLateness { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Allowed lateness of quality SLO ticks (quality results are upserted as labels arrive).</summary>
    public TimeSpan QualityAllowedLateness { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// An input partition read to its end holds its tick group's watermark at most this far behind the group's most
    /// advanced partition, and a group read to its end at most this far behind the most advanced input (event time):
    /// sparse partitions delay alerts at most this long; a result is late only when it trails the front by more than
    /// this + the allowed lateness.
    /// </summary>
    public TimeSpan LaneIdleSpan { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Low-traffic guard: confidence of the one-sided binomial test a tier's long window must pass (0 disables; see EvaluatorOptions).</summary>
    [Range(0.0, 0.999999)]
    public double LowTrafficConfidence { get; set; } = 0.999;

    /// <summary>Optional floor on the events in a tier's long window, on top of the binomial test (0: none).</summary>
    [Range(0, long.MaxValue)]
    public long MinEventsInLongWindow { get; set; }

    /// <summary>DATA_MISSING after this much stream time without results for an SLO.</summary>
    public TimeSpan MissingDataAfter { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Hysteresis: resolve a burn-rate alert only after no tier of its severity held for this long (event time).</summary>
    public TimeSpan ResolveHold { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Drift alert: drifted in at least K ...</summary>
    [Range(1, 1000)]
    public int DriftK { get; set; } = 3;

    /// <summary>... of the last N windows.</summary>
    [Range(1, 1000)]
    public int DriftN { get; set; } = 5;

    /// <summary>Latency regression: p95 more than this share above baseline (0.2 = 20%).</summary>
    [Range(0.0, 100.0)]
    public double LatencyRegressionShare { get; set; } = 0.2;

    /// <summary>Trailing span whose median p95 is the baseline.</summary>
    public TimeSpan LatencyBaselineSpan { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Windows needed before the trailing baseline is trusted.</summary>
    [Range(1, int.MaxValue)]
    public int LatencyBaselineMinWindows { get; set; } = 30;

    /// <summary>Fixed baseline p95 in microseconds instead of the trailing median.</summary>
    [Range(1, long.MaxValue)]
    public long? LatencyBaselineP95Us { get; set; }

    /// <summary>How long the regression must be sustained.</summary>
    public TimeSpan LatencyRegressionSustain { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Webhook URL for notifications; empty = log only.</summary>
    public string? WebhookUrl { get; set; }

    /// <summary>Attempts per webhook delivery before it is retried at the next flush.</summary>
    [Range(1, 20)]
    public int WebhookAttempts { get; set; } = 4;

    /// <summary>First retry delay; doubles each attempt (with jitter).</summary>
    public TimeSpan WebhookBackoff { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Timeout of one webhook POST.</summary>
    public TimeSpan WebhookTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Labels that group alerts into one notification.</summary>
#pragma warning disable CA1002, CA2227 // Bound from configuration.
    public List<string> GroupBy { get; set; } = ["alertname", "model"];
#pragma warning restore CA1002, CA2227

    /// <summary>Wait before the first notification of a new group (wall clock).</summary>
    public TimeSpan GroupWait { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Wait between notifications about changes in a group (wall clock).</summary>
    public TimeSpan GroupInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Re-notify still-firing alerts after this long (wall clock).</summary>
    public TimeSpan RepeatInterval { get; set; } = TimeSpan.FromHours(4);

    /// <summary>Silences: label matchers with an expiry.</summary>
#pragma warning disable CA1002, CA2227 // Bound from configuration.
    public List<SilenceOptions> Silences { get; set; } = [];
#pragma warning restore CA1002, CA2227

    /// <summary>Checkpoint at least this often (wall clock) while input moves; transitions checkpoint at once.</summary>
    public TimeSpan CheckpointInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Project the alerts and slo-status topics into InfluxDB (slo_status, slo_burn_rate and alert points; <see cref="AlerterProjector"/>).</summary>
    public bool WriteInflux { get; set; } = true;

    /// <summary>Which result window starts are plausible, judged against each record's Kafka timestamp (Alerter:EventTime:MaxAhead etc.).</summary>
    [ValidateObjectMembers]
    public EventTimeOptions EventTime { get; set; } = new();

    /// <summary>The evaluator's settings.</summary>
    public EvaluatorOptions ToEvaluatorOptions() => new()
    {
        ResultWindow = ResultWindow,
        QualityWindow = QualityWindow,
        DriftWindow = DriftWindow,
        AllowedLateness = AllowedLateness,
        QualityAllowedLateness = QualityAllowedLateness,
        LowTrafficConfidence = LowTrafficConfidence,
        MinEventsInLongWindow = MinEventsInLongWindow,
        MissingDataAfter = MissingDataAfter,
        ResolveHold = ResolveHold,
        DriftK = DriftK,
        DriftN = DriftN,
        LatencyRegressionShare = LatencyRegressionShare,
        LatencyBaselineSpan = LatencyBaselineSpan,
        LatencyBaselineMinWindows = LatencyBaselineMinWindows,
        LatencyBaselineP95Us = LatencyBaselineP95Us,
        LatencyRegressionSustain = LatencyRegressionSustain,
    };

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        (string Name, TimeSpan Value, bool AllowZero)[] durations =
        [
            (nameof(ResultWindow), ResultWindow, false), (nameof(QualityWindow), QualityWindow, false), (nameof(DriftWindow), DriftWindow, false),
            (nameof(MissingDataAfter), MissingDataAfter, false), (nameof(ResolveHold), ResolveHold, true),
            (nameof(LatencyBaselineSpan), LatencyBaselineSpan, false), (nameof(LatencyRegressionSustain), LatencyRegressionSustain, false),
            (nameof(WebhookBackoff), WebhookBackoff, true), (nameof(WebhookTimeout), WebhookTimeout, false),
            (nameof(GroupWait), GroupWait, true), (nameof(GroupInterval), GroupInterval, false), (nameof(RepeatInterval), RepeatInterval, false),
            (nameof(CheckpointInterval), CheckpointInterval, false),
            (nameof(AllowedLateness), AllowedLateness, true), (nameof(QualityAllowedLateness), QualityAllowedLateness, true), (nameof(LaneIdleSpan), LaneIdleSpan, false),
        ];
        foreach (var (name, value, allowZero) in durations)
        {
            // Binding accepts "-00:00:05" and "00:00:00.0001"; the evaluator counts whole milliseconds of event time.
            if (value < TimeSpan.Zero || (!allowZero && value == TimeSpan.Zero) || !Durations.IsWholeMilliseconds(value))
            {
                yield return new ValidationResult($"must be a {(allowZero ? "non-negative" : "positive")} whole number of milliseconds (e.g. 500ms, 30s, 5m, 1h), got {Durations.Display(value)}", [name]);
            }
        }

        if (DriftK > DriftN)
        {
            yield return new ValidationResult($"DriftK ({DriftK}) cannot exceed DriftN ({DriftN})", [nameof(DriftK)]);
        }

        if (!string.IsNullOrWhiteSpace(WebhookUrl) && (!Uri.TryCreate(WebhookUrl, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)))
        {
            // A webhook URL is a secret (its path is the credential): the message shows it redacted.
            yield return new ValidationResult($"'{UrlRedaction.Redact(WebhookUrl)}' is not an http(s) URL", [nameof(WebhookUrl)]);
        }

        for (var i = 0; i < Silences.Count; i++)
        {
            foreach (var error in Silences[i].Errors())
            {
                yield return new ValidationResult(error, [$"{nameof(Silences)}:{i}"]);
            }
        }
    }
}

/// <summary>A silence: alerts whose labels match every matcher are not notified until <see cref="ExpiresAt"/> (wall clock).</summary>
public sealed class SilenceOptions
{
    /// <summary>Label name to value; a value starting with "~" is a regular expression matched against the whole value.</summary>
#pragma warning disable CA2227 // Bound from configuration.
    public Dictionary<string, string> Matchers { get; set; } = [];
#pragma warning restore CA2227

    /// <summary>When the silence ends (ISO 8601, e.g. 2026-11-23T08:00:00Z).</summary>
    public DateTimeOffset ExpiresAt { get; set; }

    /// <summary>Why (shown in logs).</summary>
    public string Comment { get; set; } = "";

    /// <summary>Problems with this silence.</summary>
    public IEnumerable<string> Errors()
    {
        if (Matchers.Count == 0)
        {
            yield return "a silence needs at least one matcher";
        }

        if (ExpiresAt == default)
        {
            yield return "a silence needs ExpiresAt";
        }

        foreach (var (label, value) in Matchers)
        {
            if (value.StartsWith('~'))
            {
                string? error = null;
                try
                {
                    _ = new System.Text.RegularExpressions.Regex(value[1..], System.Text.RegularExpressions.RegexOptions.None, TimeSpan.FromMilliseconds(100));
                }
                catch (ArgumentException ex)
                {
                    error = $"matcher {label}: invalid regular expression: {ex.Message}";
                }

                if (error is not null)
                {
                    yield return error;
                }
            }
        }
    }

    /// <summary>True when every matcher matches the labels and the silence has not expired.</summary>
    public bool Matches(IReadOnlyDictionary<string, string> labels, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(labels);
        if (now >= ExpiresAt)
        {
            return false;
        }

        foreach (var (label, expected) in Matchers)
        {
            var actual = labels.TryGetValue(label, out var v) ? v : "";
            var ok = expected.StartsWith('~')
                ? System.Text.RegularExpressions.Regex.IsMatch(actual, "^(?:" + expected[1..] + ")$", System.Text.RegularExpressions.RegexOptions.None, TimeSpan.FromMilliseconds(100))
                : string.Equals(actual, expected, StringComparison.Ordinal);
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }
}
