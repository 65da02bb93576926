using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StreamMonitor.Alerter;
using StreamMonitor.Alerter.Notifications;
using StreamMonitor.Contracts;
using StreamMonitor.Hosting;
using StreamMonitor.Slo;

var builder = StreamMonitorHost.CreateBuilder("alerter", args, defaultPort: 8083);
builder.AddValidatedOptions<AlerterOptions>(AlerterOptions.SectionName);
builder.Services.AddSingleton<EventCodec>();
builder.Services.AddSingleton<AlerterMetrics>();
builder.Services.AddSingleton<IReadOnlyList<SloDefinition>>(sp =>
{
    var options = sp.GetRequiredService<IOptions<AlerterOptions>>().Value;
    var path = Path.IsPathRooted(options.SloFile) || File.Exists(options.SloFile) ? options.SloFile : Path.Combine(AppContext.BaseDirectory, options.SloFile);
    return SloFile.Load(path, Durations.Parse(options.ResultWindow), Durations.Parse(options.QualityWindow));
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
            Durations.Parse(options.WebhookBackoff),
            Durations.Parse(options.WebhookTimeout),
            sp.GetRequiredService<ILoggerFactory>().CreateLogger<WebhookSender>());
    var settings = new NotifierSettings
    {
        GroupBy = options.GroupBy,
        GroupWait = Durations.Parse(options.GroupWait),
        GroupInterval = Durations.Parse(options.GroupInterval),
        RepeatInterval = Durations.Parse(options.RepeatInterval),
        Silences = options.Silences,
    };
    return new AlertNotifier(settings, webhook, sp.GetRequiredService<ILoggerFactory>().CreateLogger<AlertNotifier>());
});
builder.Services.AddHostedService<AlerterWorker>();
builder.Services.AddHostedService<NotificationWorker>();

var app = builder.Build();
try
{
    // Fail fast with every configuration problem before anything starts.
    _ = app.Services.GetRequiredService<IOptions<AlerterOptions>>().Value;
    var slos = app.Services.GetRequiredService<IReadOnlyList<SloDefinition>>();
    app.Logger.LogInformation("Loaded {Count} SLOs: {Slos}", slos.Count, string.Join(", ", slos.Select(s => $"{s.Name} ({s.SliName} {s.Target} over {s.Period})")));
}
catch (Exception ex) when (ex is SloValidationException or OptionsValidationException or FormatException)
{
    await Console.Error.WriteLineAsync(ex.Message);
    return 2;
}

app.MapStreamMonitorEndpoints();
await app.RunAsync();
return 0;
