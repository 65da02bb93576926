using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StreamMonitor.Models.Inference;
using StreamMonitor.Scorer;

await using var app = ScorerApp.Build(args);
try
{
    await app.StartAsync().ConfigureAwait(false);
}
catch (ExecutionProviderUnavailableException ex)
{
    // A configuration error, not a crash: one line with the reason and the fix, and a failing exit code.
    app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("StreamMonitor.Scorer").LogCritical("The scorer cannot start: {Reason}", ex.Message);
    return 1;
}

await app.WaitForShutdownAsync().ConfigureAwait(false);
return 0;
