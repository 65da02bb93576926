using System.Diagnostics;
using System.Reflection;
using StreamMonitor.Stack;

namespace StreamMonitor.Testing;

/// <summary>Finds the repository and the built `streammon` CLI so fixtures can run its verbs as child processes.</summary>
public static class StreammonCli
{
    private static readonly Lazy<string> Dll = new(LocateOrBuild, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The repository root (the directory holding StreamMonitor.sln), found by walking up from the test binaries.</summary>
    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    /// <summary>Build configuration of the test binaries (Debug or Release); the CLI of the same configuration is used.</summary>
    public static string Configuration { get; } =
        typeof(StreammonCli).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";

    /// <summary>Path of streammon.dll, built with `dotnet build` first if it is missing.</summary>
    public static string DllPath => Dll.Value;

    /// <summary>The path of a service's dll under services/&lt;name&gt;/bin/&lt;Configuration&gt;/net10.0/ (not built here).</summary>
    public static string ServiceDllPath(string serviceDirectory, string assemblyName) =>
        Path.Combine(RepositoryRoot, "services", serviceDirectory, "bin", Configuration, "net10.0", assemblyName + ".dll");

    /// <summary>Runs a `streammon` verb to its end (at most 120 s); returns its exit code and its output lines joined.</summary>
    public static async Task<(int Exit, string Output)> RunAsync(params string[] arguments)
    {
        await using var cli = ServiceProcess.Start(new ServiceProcessOptions(DllPath) { Arguments = arguments });
        var exit = await cli.WaitForExitAsync(TimeSpan.FromSeconds(120));
        return (exit, string.Join('\n', cli.Lines));
    }

    private static string FindRepositoryRoot() =>
        ServicePaths.FindRepositoryRoot(AppContext.BaseDirectory) ?? throw new InvalidOperationException($"No StreamMonitor.sln above {AppContext.BaseDirectory}.");

    private static string LocateOrBuild()
    {
        var project = Path.Combine(RepositoryRoot, "src", "StreamMonitor.Cli");
        var dll = Path.Combine(project, "bin", Configuration, "net10.0", "streammon.dll");
        if (File.Exists(dll))
        {
            return dll;
        }

        // Test projects reference the CLI project, so this runs only when a test assembly is used outside a normal build.
        using var build = Process.Start(new ProcessStartInfo("dotnet", ["build", project, "-c", Configuration, "--nologo", "-v", "q"])
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
        }) ?? throw new InvalidOperationException("Could not start dotnet build.");
        var output = build.StandardOutput.ReadToEnd();
        build.WaitForExit();
        if (build.ExitCode != 0 || !File.Exists(dll))
        {
            throw new InvalidOperationException($"dotnet build {project} failed ({build.ExitCode}):\n{output}");
        }

        return dll;
    }
}
