namespace StreamMonitor.EndToEnd.Tests;

/// <summary>Locates the repository from the test's output folder.</summary>
internal static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string DataSet => Path.Combine(Root, "data", "breast_cancer_wisconsin.csv");

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "StreamMonitor.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("StreamMonitor.sln not found above " + AppContext.BaseDirectory);
    }
}
