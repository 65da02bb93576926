using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using StreamMonitor.Alerter.Notifications;
using StreamMonitor.Contracts;
using StreamMonitor.Testing;

namespace StreamMonitor.Alerter.Tests;

/// <summary>A clock the test moves by hand (notification timers are wall clock).</summary>
internal sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = start;

    public override DateTimeOffset GetUtcNow() => Now;

    public void Advance(TimeSpan by) => Now += by;
}

/// <summary>A real webhook receiver on a free loopback port that can be down (not listening) and come up.</summary>
internal sealed class WebhookReceiver : IDisposable
{
    private HttpListener? _listener;

    public WebhookReceiver()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        Port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
    }

    public int Port { get; }

    public Uri Url => new($"http://127.0.0.1:{Port}/hook/");

    public ConcurrentQueue<(string IdempotencyKey, WebhookNotification Body)> Received { get; } = new();

    public void Start()
    {
        _listener = new HttpListener();
        _listener.Prefixes.Add(Url.ToString());
        _listener.Start();
        _ = Task.Run(async () =>
        {
            while (_listener is { IsListening: true } listener)
            {
                HttpListenerContext context;
                try
                {
                    context = await listener.GetContextAsync();
                }
                catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException)
                {
                    return;
                }

                var body = await JsonSerializer.DeserializeAsync<WebhookNotification>(context.Request.InputStream, new JsonSerializerOptions(JsonSerializerDefaults.Web));
                Received.Enqueue((context.Request.Headers["Idempotency-Key"] ?? "", body!));
                context.Response.StatusCode = 200;
                context.Response.Close();
            }
        });
    }

    public void Dispose() => _listener?.Close();
}

public sealed class NotifierTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);

    private static Alert Alert(string id, AlertState state, long startedAt = 1_000, string model = "cancer") => new()
    {
        AlertId = id,
        Kind = AlertKind.SLO_BURN_RATE,
        State = state,
        Severity = "page",
        Name = id,
        ModelName = model,
        StartedAtMs = startedAt,
        EventTimeMs = startedAt + (state == AlertState.RESOLVED ? 600_000 : 0),
        Summary = $"{id} {state}",
        Labels = new Dictionary<string, string> { ["alertname"] = "SloBurnRate", ["model"] = model, ["severity"] = "page", ["slo"] = id },
    };

    private static (AlertNotifier Notifier, ManualClock Clock) Create(WebhookReceiver receiver, NotifierSettings? settings = null, HttpClient? http = null)
    {
        var clock = new ManualClock(Start);
        var sender = new WebhookSender(http ?? new HttpClient(), receiver.Url, attempts: 3, backoff: TimeSpan.FromMilliseconds(20), timeout: TimeSpan.FromSeconds(2), NullLogger.Instance);
        return (new AlertNotifier(settings ?? new NotifierSettings(), sender, NullLogger.Instance, clock), clock);
    }

    [Fact]
    public async Task Receiver_down_then_up_gets_the_notification_exactly_once()
    {
        using var receiver = new WebhookReceiver();
        using var http = new HttpClient();
        var (notifier, clock) = Create(receiver, http: http);
        notifier.Enqueue([Alert("slo/a/page", AlertState.FIRING)]);
        notifier.MarkCheckpointed(notifier.CurrentSequence);

        clock.Advance(TimeSpan.FromSeconds(30)); // group_wait
        Assert.Equal(0, await notifier.DeliverDueAsync(CancellationToken.None)); // down: retried, stays pending
        Assert.Equal(1, notifier.Failed);

        receiver.Start();
        clock.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(0, await notifier.DeliverDueAsync(CancellationToken.None)); // retry delay (10 s) not over yet
        clock.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(1, await notifier.DeliverDueAsync(CancellationToken.None));
        for (var i = 0; i < 10; i++)
        {
            clock.Advance(TimeSpan.FromMinutes(6));
            Assert.Equal(0, await notifier.DeliverDueAsync(CancellationToken.None));
        }

        var (key, body) = Assert.Single(receiver.Received);
        Assert.Equal("firing", body.Status);
        Assert.Equal("slo/a/page", Assert.Single(body.Alerts).AlertId);
        Assert.Equal(body.IdempotencyKey, key);
    }

    [Fact]
    public async Task A_receiver_that_resets_every_connection_leaves_the_notification_pending_and_the_notifier_running()
    {
        // A load balancer in front of a stopped receiver accepts and resets; .NET can surface that as a bare
        // SocketException, which must count as unreachable like a refused connection.
        using var receiver = new WebhookReceiver();
        var resetting = await DownServer.HoldAsync(receiver.Port);
        using var http = new HttpClient();
        var (notifier, clock) = Create(receiver, http: http);
        notifier.Enqueue([Alert("slo/a/page", AlertState.FIRING)]);
        notifier.MarkCheckpointed(notifier.CurrentSequence);

        for (var round = 1; round <= 25; round++)
        {
            clock.Advance(TimeSpan.FromMinutes(1));
            Assert.Equal(0, await notifier.DeliverDueAsync(CancellationToken.None));
            Assert.Equal(round, notifier.Failed);
        }

        await resetting.DisposeAsync();
        receiver.Start();
        clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(1, await notifier.DeliverDueAsync(CancellationToken.None));
        Assert.Single(receiver.Received);
    }

    [Fact]
    public async Task Group_wait_groups_alerts_and_resolves_are_notified_after_group_interval_and_firing_repeats()
    {
        using var receiver = new WebhookReceiver();
        receiver.Start();
        var (notifier, clock) = Create(receiver);
        notifier.Enqueue([Alert("slo/a/page", AlertState.FIRING)]);
        clock.Advance(TimeSpan.FromSeconds(10));
        notifier.Enqueue([Alert("slo/b/page", AlertState.FIRING)]);
        notifier.MarkCheckpointed(notifier.CurrentSequence);

        clock.Advance(TimeSpan.FromSeconds(19));
        Assert.Equal(0, await notifier.DeliverDueAsync(CancellationToken.None));
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, await notifier.DeliverDueAsync(CancellationToken.None));
        Assert.Equal(2, Assert.Single(receiver.Received).Body.Alerts.Count);

        // A duplicate transition (same id, start, state: re-derived after a restart) is not a change.
        notifier.Enqueue([Alert("slo/a/page", AlertState.FIRING)]);
        notifier.Enqueue([Alert("slo/a/page", AlertState.RESOLVED)]);
        notifier.MarkCheckpointed(notifier.CurrentSequence);
        clock.Advance(TimeSpan.FromMinutes(4));
        Assert.Equal(0, await notifier.DeliverDueAsync(CancellationToken.None));
        clock.Advance(TimeSpan.FromMinutes(1)); // group_interval after the first notification
        Assert.Equal(1, await notifier.DeliverDueAsync(CancellationToken.None));
        var second = receiver.Received.Last().Body;
        Assert.Equal(["resolved", "firing"], second.Alerts.OrderBy(a => a.AlertId).Select(a => a.Status));

        clock.Advance(TimeSpan.FromHours(4));
        Assert.Equal(1, await notifier.DeliverDueAsync(CancellationToken.None));
        var repeat = receiver.Received.Last().Body;
        Assert.True(repeat.Repeat);
        Assert.Equal("slo/b/page", Assert.Single(repeat.Alerts).AlertId);
        Assert.Equal(3, receiver.Received.Count);
    }

    [Fact]
    public async Task Nothing_is_delivered_before_its_checkpoint_and_restored_state_does_not_repeat_a_page()
    {
        using var receiver = new WebhookReceiver();
        receiver.Start();
        var (notifier, clock) = Create(receiver, new NotifierSettings { GroupWait = TimeSpan.Zero });
        notifier.Enqueue([Alert("slo/a/page", AlertState.FIRING)]);
        Assert.Equal(0, await notifier.DeliverDueAsync(CancellationToken.None));
        notifier.MarkCheckpointed(notifier.CurrentSequence);
        Assert.Equal(1, await notifier.DeliverDueAsync(CancellationToken.None));
        var state = JsonSerializer.Serialize(notifier.Capture());

        var (restarted, clock2) = Create(receiver, new NotifierSettings { GroupWait = TimeSpan.Zero });
        clock2.Now = clock.Now;
        restarted.Restore(JsonSerializer.Deserialize<NotifierState>(state)!);
        restarted.Enqueue([Alert("slo/a/page", AlertState.FIRING)]); // re-derived by reprocessing after the restart
        restarted.MarkCheckpointed(restarted.CurrentSequence);
        clock2.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(0, await restarted.DeliverDueAsync(CancellationToken.None));

        restarted.Enqueue([Alert("slo/a/page", AlertState.RESOLVED)]);
        restarted.MarkCheckpointed(restarted.CurrentSequence);
        Assert.Equal(1, await restarted.DeliverDueAsync(CancellationToken.None));
        Assert.Equal(["firing", "resolved"], receiver.Received.Select(r => Assert.Single(r.Body.Alerts).Status));
    }

    [Fact]
    public async Task Silences_match_labels_until_they_expire()
    {
        using var receiver = new WebhookReceiver();
        receiver.Start();
        var silence = new SilenceOptions { Matchers = new() { ["model"] = "~canc.*", ["severity"] = "page" }, ExpiresAt = Start.AddHours(1), Comment = "maintenance" };
        var (notifier, clock) = Create(receiver, new NotifierSettings { GroupWait = TimeSpan.Zero, Silences = [silence] });
        notifier.Enqueue([Alert("slo/a/page", AlertState.FIRING), Alert("slo/x/page", AlertState.FIRING, model: "other")]);
        notifier.MarkCheckpointed(notifier.CurrentSequence);
        Assert.Equal(1, await notifier.DeliverDueAsync(CancellationToken.None));
        Assert.Equal("slo/x/page", Assert.Single(Assert.Single(receiver.Received).Body.Alerts).AlertId);
        Assert.Equal(1, notifier.Silenced);

        clock.Advance(TimeSpan.FromHours(2));
        notifier.Enqueue([Alert("slo/a/page", AlertState.FIRING, startedAt: 5_000)]);
        notifier.MarkCheckpointed(notifier.CurrentSequence);
        Assert.Equal(1, await notifier.DeliverDueAsync(CancellationToken.None));
        Assert.Equal("slo/a/page", Assert.Single(receiver.Received.Last().Body.Alerts).AlertId);
    }

    [Fact]
    public void Options_validation_names_the_bad_keys()
    {
        var options = new AlerterOptions { GroupWait = TimeSpan.FromSeconds(-1), DriftK = 6, DriftN = 5, WebhookUrl = "ftp://x", Silences = [new SilenceOptions()] };
        var results = options.Validate(new System.ComponentModel.DataAnnotations.ValidationContext(options)).ToList();
        Assert.Contains(results, r => r.MemberNames.Contains("GroupWait"));
        Assert.Contains(results, r => r.MemberNames.Contains("DriftK"));
        Assert.Contains(results, r => r.MemberNames.Contains("WebhookUrl"));
        Assert.Contains(results, r => r.MemberNames.Contains("Silences:0") && r.ErrorMessage!.Contains("matcher", StringComparison.Ordinal));
    }
}
