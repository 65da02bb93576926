namespace StreamMonitor.Scorer.Tests;

/// <summary>Locates repository files from the test output folder.</summary>
internal static class TestPaths
{
    /// <summary>The repository root (the folder holding StreamMonitor.sln).</summary>
    public static string RepositoryRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "StreamMonitor.sln")))
            {
                dir = dir.Parent;
            }

            return dir?.FullName ?? throw new InvalidOperationException("StreamMonitor.sln not found above " + AppContext.BaseDirectory);
        }
    }

    /// <summary>A file under data/.</summary>
    public static string DataFile(string name) => Path.Combine(RepositoryRoot, "data", name);
}
