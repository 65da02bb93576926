using StreamMonitor.Testing;

namespace StreamMonitor.EndToEnd.Tests;

/// <summary>Locates the repository from the test's output folder.</summary>
internal static class RepoPaths
{
    public static string Root => StreammonCli.RepositoryRoot;

    public static string DataSet => Path.Combine(Root, "data", "breast_cancer_wisconsin.csv");
}
