using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StreamMonitor.Models.Inference;
using StreamMonitor.Scorer;

await using var app = ScorerApp.Build(args);
try
{
    await app.RunAsync().ConfigureAwait(false);
}
catch (ExecutionProviderUnavailableException ex)
{
    // A configuration error, not a crash: one log line with the reason, no stack trace, and a failing exit code.
    app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("StreamMonitor.Scorer").LogCritical("The scorer cannot start: {Reason}", ex.Message);
    return 1;
}

return 0;
