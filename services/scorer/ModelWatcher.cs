using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace StreamMonitor.Scorer;

/// <summary>
/// Polls the model store (every Scorer:ReloadPoll) and hands new versions to <see cref="ModelRegistry"/>, which
/// loads and warms them up on this background thread. Polling rather than file-system events: it works on every
/// file system (network mounts included) and a version folder appears by one atomic rename anyway. Each poll also
/// retries a version that failed to load once its folder has changed (see <see cref="ModelRegistry.Poll"/>).
/// </summary>
public sealed class ModelWatcher(ModelRegistry registry, IOptions<ScorerOptions> options) : BackgroundService
{
    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        await Task.Yield();
        using var timer = new PeriodicTimer(options.Value.ReloadPoll);
        do
        {
            registry.Poll();
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }
}
