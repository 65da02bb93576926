namespace StreamMonitor.Hosting;

/// <summary>Which service this process runs, and which instance of it (for logs, dead letters, metrics).</summary>
/// <param name="Name">Service name, e.g. "scorer".</param>
/// <param name="InstanceId">Instance id from configuration "InstanceId", default "{name}-{host}-{pid}".</param>
public sealed record ServiceIdentity(string Name, string InstanceId);
