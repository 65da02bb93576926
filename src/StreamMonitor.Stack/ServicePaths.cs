namespace StreamMonitor.Stack;

/// <summary>
/// Finds the built entry assemblies of the services. Order: the STREAMMON_{NAME}_DLL environment variable, then the
/// repository's services/{name}/bin/{Release|Debug}/net10.0 (the configuration this process was built with first).
/// </summary>
public static class ServicePaths
{
    /// <summary>Service names and their assembly names.</summary>
    public static readonly IReadOnlyDictionary<string, string> Assemblies = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["scorer"] = "StreamMonitor.Scorer",
        ["aggregator"] = "StreamMonitor.Aggregator",
        ["alerter"] = "StreamMonitor.Alerter",
    };

    /// <summary>The repository root above <paramref name="start"/> (or this process's folders), or null.</summary>
    public static string? FindRepositoryRoot(string? start = null)
    {
        foreach (var origin in new[] { start, AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var dir = origin is null ? null : new DirectoryInfo(origin); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "StreamMonitor.sln")))
                {
                    return dir.FullName;
                }
            }
        }

        return null;
    }

    /// <summary>Path of a service's built dll; throws naming where it looked when it is not built.</summary>
    public static string ServiceDll(string service, string? repositoryRoot = null)
    {
        if (!Assemblies.TryGetValue(service, out var assembly))
        {
            throw new ArgumentException($"Unknown service '{service}'.", nameof(service));
        }

        var forced = Environment.GetEnvironmentVariable($"STREAMMON_{service.ToUpperInvariant()}_DLL");
        if (!string.IsNullOrEmpty(forced))
        {
            return File.Exists(forced) ? forced : throw new FileNotFoundException($"STREAMMON_{service.ToUpperInvariant()}_DLL points to a missing file.", forced);
        }

        var root = repositoryRoot ?? FindRepositoryRoot() ?? throw new DirectoryNotFoundException("No StreamMonitor.sln above this program; set STREAMMON_" + service.ToUpperInvariant() + "_DLL.");
#if DEBUG
        string[] configurations = ["Debug", "Release"];
#else
        string[] configurations = ["Release", "Debug"];
#endif
        var candidates = configurations.Select(c => Path.Combine(root, "services", service, "bin", c, "net10.0", assembly + ".dll")).ToList();
        return candidates.FirstOrDefault(File.Exists)
            ?? throw new FileNotFoundException($"The {service} service is not built (looked in {string.Join(", ", candidates)}); run: dotnet build services/{service}");
    }
}
