using StreamMonitor.Scorer;

await using var app = ScorerApp.Build(args);
await app.RunAsync().ConfigureAwait(false);
