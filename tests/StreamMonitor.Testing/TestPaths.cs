namespace StreamMonitor.Testing;

/// <summary>Locates repository files from the test output folder.</summary>
public static class TestPaths
{
    /// <summary>The repository root (the folder holding StreamMonitor.sln).</summary>
    public static string RepositoryRoot => StreammonCli.RepositoryRoot;

    /// <summary>A file under data/.</summary>
    public static string DataFile(string name) => Path.Combine(RepositoryRoot, "data", name);
}
