using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StreamMonitor.Alerter.Notifications;

namespace StreamMonitor.Alerter;

/// <summary>Delivers due notification groups once a second (wall clock: notification timers govern delivery only).</summary>
public sealed class NotificationWorker(AlertNotifier notifier, AlerterMetrics metrics, ILogger<NotificationWorker> logger) : BackgroundService
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
                logger.LogError(ex, "Notification delivery failed; it is retried on the next tick");
            }
        }
    }
}
