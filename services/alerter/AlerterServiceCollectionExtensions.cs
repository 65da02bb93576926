using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StreamMonitor.Alerter.Notifications;
using StreamMonitor.Contracts;
using StreamMonitor.Hosting;
using StreamMonitor.Slo;

namespace StreamMonitor.Alerter;

/// <summary>The alerter's wiring, so that Program.cs only creates, checks, builds and runs the host.</summary>
public static class AlerterServiceCollectionExtensions
{
    /// <summary>
    /// Validated "Alerter" options, the SLO definitions (Alerter:SloFile, relative to the working directory or the
    /// application directory), the alert notifier with its optional webhook, the evaluating worker, the
    /// notification worker and, unless Alerter:WriteInflux is false, the <see cref="AlerterProjector"/>.
    /// </summary>
    public static IHostApplicationBuilder AddAlerter(this IHostApplicationBuilder builder)
    {
        // AddValidatedOptions checks the builder for null.
        builder.AddValidatedOptions<AlerterOptions>(AlerterOptions.SectionName).Services
            .AddSingleton<EventCodec>()
            .AddSingleton<AlerterMetrics>();
        builder.Services.AddSingleton<IReadOnlyList<SloDefinition>>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<AlerterOptions>>().Value;
            var path = Path.IsPathRooted(options.SloFile) || File.Exists(options.SloFile) ? options.SloFile : Path.Combine(AppContext.BaseDirectory, options.SloFile);
            return SloFile.Load(path, options.ResultWindow, options.QualityWindow);
        });
        // No HttpClient request logging: it would write the webhook URL, whose path is the secret, at Information level.
        builder.Services.AddHttpClient(nameof(WebhookSender)).RemoveAllLoggers();
        builder.Services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<AlerterOptions>>().Value;
            var webhook = string.IsNullOrWhiteSpace(options.WebhookUrl)
                ? null
                : new WebhookSender(
                    sp.GetRequiredService<IHttpClientFactory>().CreateClient(nameof(WebhookSender)),
                    new Uri(options.WebhookUrl),
                    options.WebhookAttempts,
                    options.WebhookBackoff,
                    options.WebhookTimeout,
                    sp.GetRequiredService<ILoggerFactory>().CreateLogger<WebhookSender>());
            var settings = new NotifierSettings
            {
                GroupBy = options.GroupBy,
                GroupWait = options.GroupWait,
                GroupInterval = options.GroupInterval,
                RepeatInterval = options.RepeatInterval,
                Silences = options.Silences,
            };
            return new AlertNotifier(settings, webhook, sp.GetRequiredService<ILoggerFactory>().CreateLogger<AlertNotifier>());
        });
        builder.Services.AddHostedService<AlerterWorker>();
        builder.Services.AddHostedService<NotificationWorker>();
        return builder.AddSwitchableHostedService<AlerterProjector>($"{AlerterOptions.SectionName}:{nameof(AlerterOptions.WriteInflux)}");
    }

    /// <summary>
    /// Resolves the options and the SLO file before anything starts, so that every configuration problem fails
    /// fast; logs the SLOs loaded. Returns null when the configuration is usable, else the problem, for stderr.
    /// </summary>
    public static string? CheckAlerterConfiguration(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        try
        {
            _ = app.Services.GetRequiredService<IOptions<AlerterOptions>>().Value;
            var slos = app.Services.GetRequiredService<IReadOnlyList<SloDefinition>>();
            app.Logger.LogInformation("Loaded {Count} SLOs: {Slos}", slos.Count, string.Join(", ", slos.Select(s => $"{s.Name} ({s.SliName} {s.Target} over {s.Period})")));
            return null;
        }
        catch (Exception ex) when (ex is SloValidationException or OptionsValidationException or FormatException)
        {
            return ex.Message;
        }
    }
}
