using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using StreamMonitor.Contracts;

namespace StreamMonitor.Alerter.Notifications;

/// <summary>Notification timers and routing (wall clock: they govern delivery, not what an alert is).</summary>
public sealed record NotifierSettings
{
    /// <summary>Labels that group alerts into one notification.</summary>
    public IReadOnlyList<string> GroupBy { get; init; } = ["alertname", "model"];

    /// <summary>Wait before the first notification of a new group.</summary>
    public TimeSpan GroupWait { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Wait between notifications about changes in a group.</summary>
    public TimeSpan GroupInterval { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Re-notify still-firing alerts after this long.</summary>
    public TimeSpan RepeatInterval { get; init; } = TimeSpan.FromHours(4);

    /// <summary>Delay before a failed delivery is tried again (after the sender's own retries).</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Silences.</summary>
    public IReadOnlyList<SilenceOptions> Silences { get; init; } = [];
}

/// <summary>
/// Alertmanager-like notification: alert transitions are grouped by labels; a new group waits group_wait, later
/// changes wait group_interval after the group's last notification, still-firing alerts repeat after
/// repeat_interval; resolves are notified (for alerts whose firing was notified); silenced alerts are logged, not
/// sent; a transition already known (same alert id, start and state, e.g. re-derived after a restart) is dropped.
/// A transition is delivered only after the checkpoint that contains it is written
/// (<see cref="MarkCheckpointed"/>), so a crash can never forget a notification it already made or make one it
/// will make again. Thread-safe: the consumer loop enqueues, a delivery loop sends.
/// </summary>
public sealed class AlertNotifier
{
    private readonly NotifierSettings _settings;
    private readonly WebhookSender? _webhook;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private readonly SortedDictionary<string, Group> _groups = new(StringComparer.Ordinal);
    private long _sequence;

    /// <summary>Creates a notifier; without a webhook, notifications go to the log only.</summary>
    public AlertNotifier(NotifierSettings settings, WebhookSender? webhook, ILogger logger, TimeProvider? time = null)
    {
        _settings = settings ?? throw new ArgumentNullException(nameof(settings));
        _webhook = webhook;
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Set when a delivery changed the state, so the owner checkpoints soon.</summary>
    public bool Dirty { get; private set; }

    /// <summary>Notifications sent (webhook accepted, or logged when there is no webhook).</summary>
    public long Sent { get; private set; }

    /// <summary>Deliveries that failed after retries and stay pending.</summary>
    public long Failed { get; private set; }

    /// <summary>Transitions dropped by a silence.</summary>
    public long Silenced { get; private set; }

    /// <summary>Accepts alert transitions; they wait for the next checkpoint before they can be delivered.</summary>
    public void Enqueue(IEnumerable<Alert> transitions)
    {
        ArgumentNullException.ThrowIfNull(transitions);
        var now = _time.GetUtcNow();
        lock (_lock)
        {
            foreach (var alert in transitions)
            {
                if (_settings.Silences.FirstOrDefault(s => s.Matches(alert.Labels, now)) is { } silence)
                {
                    Silenced++;
                    _logger.LogInformation("Alert {AlertId} {State} silenced until {ExpiresAt} ({Comment})", alert.AlertId, alert.State, silence.ExpiresAt, silence.Comment);
                    continue;
                }

                var key = GroupKey(alert, out var groupLabels);
                if (!_groups.TryGetValue(key, out var group))
                {
                    group = new Group { Key = key, Labels = groupLabels, NextFlushMs = now.ToUnixTimeMilliseconds() + (long)_settings.GroupWait.TotalMilliseconds };
                    _groups[key] = group;
                }

                if (group.Entries.TryGetValue(alert.AlertId, out var existing)
                    && existing.Latest.State == alert.State && existing.Latest.StartedAtMs == alert.StartedAtMs)
                {
                    continue;
                }

                group.Entries[alert.AlertId] = new Entry
                {
                    Latest = alert,
                    NotifiedState = existing?.NotifiedState,
                    NotifiedStartedAtMs = existing?.NotifiedStartedAtMs,
                    Sequence = ++_sequence,
                };
            }
        }
    }

    /// <summary>Sequence of the newest enqueued transition; pass it to <see cref="MarkCheckpointed"/> after the checkpoint holding it is written.</summary>
    public long CurrentSequence
    {
        get
        {
            lock (_lock)
            {
                return _sequence;
            }
        }
    }

    /// <summary>Releases every transition up to <paramref name="sequence"/> for delivery.</summary>
    public void MarkCheckpointed(long sequence)
    {
        lock (_lock)
        {
            foreach (var entry in _groups.Values.SelectMany(g => g.Entries.Values).Where(e => e.Sequence <= sequence))
            {
                entry.Sequence = 0;
            }
        }
    }

    /// <summary>Sends every group whose timer is due; returns the notifications sent.</summary>
    public async Task<int> DeliverDueAsync(CancellationToken cancellationToken)
    {
        var sent = 0;
        foreach (var (group, notification, included) in DueNotifications())
        {
            var ok = _webhook is null || await _webhook.SendAsync(notification, cancellationToken);
            LogNotification(notification, ok);
            var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
            lock (_lock)
            {
                if (!ok)
                {
                    Failed++;
                    group.NextFlushMs = now + (long)_settings.RetryDelay.TotalMilliseconds;
                    continue;
                }

                sent++;
                Sent++;
                Dirty = true;
                group.LastSentMs = now;
                group.NextFlushMs = now + (long)_settings.GroupInterval.TotalMilliseconds;
                foreach (var alert in included)
                {
                    if (group.Entries.TryGetValue(alert.AlertId, out var entry) && ReferenceEquals(entry.Latest, alert))
                    {
                        entry.NotifiedState = alert.State;
                        entry.NotifiedStartedAtMs = alert.StartedAtMs;
                        if (alert.State == AlertState.RESOLVED)
                        {
                            group.Entries.Remove(alert.AlertId);
                        }
                    }
                }

                if (group.Entries.Count == 0)
                {
                    _groups.Remove(group.Key);
                }
            }
        }

        return sent;
    }

    private List<(Group Group, WebhookNotification Notification, List<Alert> Included)> DueNotifications()
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var due = new List<(Group, WebhookNotification, List<Alert>)>();
        lock (_lock)
        {
            foreach (var group in _groups.Values.ToList())
            {
                if (now < group.NextFlushMs)
                {
                    continue;
                }

                // A resolve of an alert whose firing was never notified (silenced, or fired and resolved within one wait) is dropped.
                foreach (var stale in group.Entries.Where(e => e.Value.Sequence == 0 && e.Value.Latest.State == AlertState.RESOLVED && e.Value.NotifiedState != AlertState.FIRING).Select(e => e.Key).ToList())
                {
                    group.Entries.Remove(stale);
                }

                var ready = group.Entries.Values.Where(e => e.Sequence == 0).ToList();
                var changed = ready.Any(e => e.NotifiedState != e.Latest.State || e.NotifiedStartedAtMs != e.Latest.StartedAtMs);
                var repeat = !changed && group.LastSentMs is { } last && now - last >= (long)_settings.RepeatInterval.TotalMilliseconds
                             && ready.Any(e => e.Latest.State == AlertState.FIRING);
                if (!changed && !repeat)
                {
                    if (group.Entries.Count == 0)
                    {
                        _groups.Remove(group.Key);
                    }

                    continue;
                }

                var included = ready.Where(e => e.Latest.State == AlertState.FIRING || e.NotifiedState == AlertState.FIRING).Select(e => e.Latest).OrderBy(a => a.AlertId, StringComparer.Ordinal).ToList();
                due.Add((group, Build(group, included, repeat, now), included));
            }
        }

        return due;
    }

    private static WebhookNotification Build(Group group, List<Alert> alerts, bool repeat, long now)
    {
        var notification = new WebhookNotification
        {
            Status = alerts.Any(a => a.State == AlertState.FIRING) ? "firing" : "resolved",
            GroupKey = group.Key,
            GroupLabels = new Dictionary<string, string>(group.Labels, StringComparer.Ordinal),
            Repeat = repeat,
        };
        foreach (var a in alerts)
        {
            notification.Alerts.Add(new WebhookAlert
            {
                Status = a.State == AlertState.FIRING ? "firing" : "resolved",
                AlertId = a.AlertId,
                Fingerprint = Fingerprint(a),
                Kind = a.Kind.ToString(),
                Severity = a.Severity,
                Labels = new Dictionary<string, string>(a.Labels, StringComparer.Ordinal),
                Summary = a.Summary,
                StartsAt = Iso(a.StartedAtMs),
                EndsAt = a.State == AlertState.RESOLVED ? Iso(a.EventTimeMs) : null,
                Tier = a.Tier,
                LongBurnRate = a.LongBurnRate,
                ShortBurnRate = a.ShortBurnRate,
                BudgetRemaining = a.BudgetRemaining,
                TimeToExhaustionMs = a.TimeToExhaustionMs,
                Value = a.Value,
                Threshold = a.Threshold,
            });
        }

        // Same content -> same key; a repeat is a new notification, so the wall-clock send time goes into its key.
        var identity = group.Key + "|" + string.Join('|', notification.Alerts.Select(a => a.Fingerprint)) + (repeat ? "|repeat@" + now.ToString(CultureInfo.InvariantCulture) : "");
        notification.IdempotencyKey = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(identity)))[..32];
        return notification;
    }

    private static string Fingerprint(Alert a) => string.Create(CultureInfo.InvariantCulture, $"{a.AlertId}@{a.StartedAtMs}/{a.State}");

    private static string Iso(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms).ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);

    private void LogNotification(WebhookNotification n, bool delivered)
    {
        foreach (var a in n.Alerts)
        {
            _logger.Log(a.Status == "firing" && a.Severity == "page" ? LogLevel.Warning : LogLevel.Information,
                "Notification {Outcome} group {GroupKey}: [{Status}] {Severity} {AlertId} {Summary}{Repeat}",
                delivered ? "sent" : "pending", n.GroupKey, a.Status.ToUpperInvariant(), a.Severity, a.AlertId, a.Summary, n.Repeat ? " (repeat)" : "");
        }
    }

    private string GroupKey(Alert alert, out Dictionary<string, string> labels)
    {
        labels = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in _settings.GroupBy)
        {
            labels[name] = alert.Labels.TryGetValue(name, out var v) ? v : "";
        }

        return string.Join(',', labels.Select(l => l.Key + "=" + l.Value));
    }

    /// <summary>State for the checkpoint (captured with the evaluator state).</summary>
    public NotifierState Capture()
    {
        lock (_lock)
        {
            Dirty = false;
            return new NotifierState
            {
                Groups = [.. _groups.Values.Select(g => new NotifierGroupState
                {
                    Key = g.Key,
                    Labels = new Dictionary<string, string>(g.Labels, StringComparer.Ordinal),
                    NextFlushMs = g.NextFlushMs,
                    LastSentMs = g.LastSentMs,
                    Entries = [.. g.Entries.Values.Select(e => new NotifierEntryState(e.Latest, e.NotifiedState, e.NotifiedStartedAtMs))],
                })],
            };
        }
    }

    /// <summary>Restores checkpointed state; every restored transition is deliverable (it was checkpointed).</summary>
    public void Restore(NotifierState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        lock (_lock)
        {
            _groups.Clear();
            foreach (var g in state.Groups)
            {
                var group = new Group { Key = g.Key, Labels = g.Labels, NextFlushMs = g.NextFlushMs, LastSentMs = g.LastSentMs };
                foreach (var e in g.Entries)
                {
                    group.Entries[e.Latest.AlertId] = new Entry { Latest = e.Latest, NotifiedState = e.NotifiedState, NotifiedStartedAtMs = e.NotifiedStartedAtMs };
                }

                _groups[g.Key] = group;
            }
        }
    }

    private sealed class Group
    {
        public required string Key { get; init; }

        public required Dictionary<string, string> Labels { get; init; }

        public SortedDictionary<string, Entry> Entries { get; } = new(StringComparer.Ordinal);

        public long NextFlushMs { get; set; }

        public long? LastSentMs { get; set; }
    }

    private sealed class Entry
    {
        public required Alert Latest { get; init; }

        public AlertState? NotifiedState { get; set; }

        public long? NotifiedStartedAtMs { get; set; }

        /// <summary>Enqueue sequence while waiting for a checkpoint; 0 once checkpointed.</summary>
        public long Sequence { get; set; }
    }
}

#pragma warning disable CA1002, CA2227 // Checkpoint DTOs.

/// <summary>Notifier state inside the alerter checkpoint.</summary>
public sealed class NotifierState
{
    /// <summary>Groups with their alerts.</summary>
    public List<NotifierGroupState> Groups { get; set; } = [];
}

/// <summary>One notification group.</summary>
public sealed class NotifierGroupState
{
    /// <summary>Group key.</summary>
    public string Key { get; set; } = "";

    /// <summary>Grouping labels.</summary>
    public Dictionary<string, string> Labels { get; set; } = [];

    /// <summary>Wall-clock time of the next flush.</summary>
    public long NextFlushMs { get; set; }

    /// <summary>Wall-clock time of the last notification.</summary>
    public long? LastSentMs { get; set; }

    /// <summary>Alerts.</summary>
    public List<NotifierEntryState> Entries { get; set; } = [];
}

/// <summary>Latest transition of an alert and what was last notified for it.</summary>
public sealed record NotifierEntryState(Alert Latest, AlertState? NotifiedState, long? NotifiedStartedAtMs);
#pragma warning restore CA1002, CA2227
