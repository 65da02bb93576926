using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StreamMonitor.Alerter.Notifications;
using StreamMonitor.Influx;

namespace StreamMonitor.Alerter;

/// <summary>
/// Delivers due notification groups once a second (wall clock: notification timers govern delivery only). A failure is
/// logged scrubbed of the webhook URL's secret parts and retried on the next tick.
/// </summary>
public sealed class NotificationWorker(AlertNotifier notifier, AlerterMetrics metrics, IOptions<AlerterOptions> options, ILogger<NotificationWorker> logger) : BackgroundService
{
    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            var failedBefore = notifier.Failed;
            try
            {
                var sent = await notifier.DeliverDueAsync(stoppingToken);
                metrics.Notifications.WithLabels("sent").Inc(sent);
                metrics.Notifications.WithLabels("failed").Inc(notifier.Failed - failedBefore);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // The exception's text, scrubbed, instead of the exception: its messages may quote the webhook URL.
                logger.LogError("Notification delivery failed; it is retried on the next tick: {Error}", UrlRedaction.Scrub(ex.ToString(), options.Value.WebhookUrl));
            }
        }
    }
}
