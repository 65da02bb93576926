using System.Xml.Linq;
using StreamMonitor.Testing;

namespace StreamMonitor.Contracts.Tests;

/// <summary>
/// The layering the architecture rests on, read from the project files the way MSBuild reads them (ProjectReference
/// and PackageReference items): the vocabulary and the decision logic never reach Kafka, services are hosts over
/// libraries and never reference each other, and package versions live in one place.
/// </summary>
public sealed class ProjectGraphTests
{
    /// <summary>Libraries that describe, compute or decide (record contracts, window statistics, SLO rules) or run local tools: no Kafka below them.</summary>
    private static readonly string[] KafkaFree = ["StreamMonitor.Contracts", "StreamMonitor.Analytics", "StreamMonitor.Slo", "StreamMonitor.Stack", "StreamMonitor.Influx"];

    /// <summary>Local infrastructure for the demo, development and tests (the embedded cluster, a local influxd).</summary>
    private static readonly string[] LocalInfrastructure = ["StreamMonitor.Kafka.Embedded", "StreamMonitor.Influx.Local"];

    /// <summary>The developer tools that start local infrastructure; nothing else in src/ or services/ may reach it.</summary>
    private static readonly string[] DeveloperTools = ["StreamMonitor.Cli", "StreamMonitor.Demo"];

    private static readonly Dictionary<string, Project> Projects = Load();

    [Fact]
    public void Every_project_reference_resolves_to_a_project_of_the_repository()
    {
        var missing = Projects.Values.SelectMany(p => p.References.Where(r => !Projects.ContainsKey(r)).Select(r => $"{p.Name} -> {r}")).ToList();
        Assert.True(missing.Count == 0, string.Join("\n", missing));
        Assert.Contains("StreamMonitor.Contracts", Projects.Keys);
        Assert.Contains("StreamMonitor.Scorer", Projects.Keys);
    }

    [Fact]
    public void Contracts_and_the_decision_libraries_depend_on_no_Kafka_project_or_client()
    {
        foreach (var name in KafkaFree)
        {
            var closure = Closure(name);
            var kafka = closure.Where(p => p == "StreamMonitor.Kafka" || p == "StreamMonitor.Streams" || Projects[p].Packages.Contains("Confluent.Kafka")).ToList();
            Assert.True(kafka.Count == 0, $"{name} reaches Kafka through {string.Join(", ", kafka)}");
        }
    }

    [Fact]
    public void Production_libraries_and_services_never_reach_the_local_infrastructure()
    {
        var production = Projects.Keys.Where(p => !LocalInfrastructure.Contains(p) && !DeveloperTools.Contains(p)).ToList();
        Assert.Contains("StreamMonitor.Kafka", production);
        var wrong = production
            .SelectMany(p => Closure(p).Intersect(LocalInfrastructure).Select(l => $"{p} -> {l}"))
            .ToList();
        Assert.True(wrong.Count == 0, $"production code reaching local infrastructure: {string.Join("; ", wrong)}");
    }

    [Fact]
    public void Services_reference_libraries_and_never_each_other_and_no_library_references_a_service()
    {
        var services = Projects.Values.Where(p => p.IsService).Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        Assert.Equal(3, services.Count);
        var wrong = Projects.Values
            .SelectMany(p => p.References.Where(services.Contains).Select(r => $"{p.Name} -> {r}"))
            .ToList();
        Assert.True(wrong.Count == 0, $"references to a service project: {string.Join("; ", wrong)}");
    }

    [Fact]
    public void No_package_reference_carries_its_own_version()
    {
        var root = StreammonCli.RepositoryRoot;
        var versioned = Directory.EnumerateFiles(root, "*.csproj", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .SelectMany(f => XDocument.Load(f).Descendants("PackageReference")
                .Where(e => e.Attribute("Version") is not null || e.Element("Version") is not null)
                .Select(e => $"{Path.GetRelativePath(root, f)}: {e.Attribute("Include")?.Value}"))
            .ToList();
        Assert.True(versioned.Count == 0, $"versions belong in Directory.Packages.props: {string.Join("; ", versioned)}");
        Assert.True(File.Exists(Path.Combine(root, "Directory.Packages.props")));
    }

    private static HashSet<string> Closure(string name)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var stack = new Stack<string>([name]);
        while (stack.TryPop(out var next))
        {
            if (seen.Add(next) && Projects.TryGetValue(next, out var project))
            {
                foreach (var reference in project.References)
                {
                    stack.Push(reference);
                }
            }
        }

        return seen;
    }

    private static Dictionary<string, Project> Load()
    {
        var root = StreammonCli.RepositoryRoot;
        var projects = new Dictionary<string, Project>(StringComparer.Ordinal);
        foreach (var folder in new[] { "src", "services" })
        {
            foreach (var file in Directory.EnumerateFiles(Path.Combine(root, folder), "*.csproj", SearchOption.AllDirectories))
            {
                var xml = XDocument.Load(file);
                var references = xml.Descendants("ProjectReference")
                    .Select(e => Path.GetFileNameWithoutExtension(e.Attribute("Include")!.Value.Replace('\\', Path.DirectorySeparatorChar)))
                    .ToList();
                var packages = xml.Descendants("PackageReference").Select(e => e.Attribute("Include")!.Value).ToHashSet(StringComparer.Ordinal);
                var name = Path.GetFileNameWithoutExtension(file);
                projects[name] = new Project(name, folder == "services", references, packages);
            }
        }

        return projects;
    }

    private sealed record Project(string Name, bool IsService, IReadOnlyList<string> References, IReadOnlySet<string> Packages);
}
