using System.Reflection;
using System.Runtime.Loader;

namespace StreamMonitor.EndToEnd.Tests;

/// <summary>A configuration section a service binds: its name and options type.</summary>
internal sealed record OptionsSection(string Name, Type Type);

/// <summary>
/// Loads a built service assembly (services/*/bin) in its own load context to reflect over its options types: the
/// docker-compose test derives the configuration keys a service reads from the code, not from a second list.
/// </summary>
internal static class ServiceAssemblies
{
    private static readonly Dictionary<string, Assembly> Loaded = new(StringComparer.Ordinal);

    public static Assembly Load(string dllPath)
    {
        lock (Loaded)
        {
            if (!Loaded.TryGetValue(dllPath, out var assembly))
            {
                var context = new ServiceLoadContext(dllPath);
                assembly = context.LoadFromAssemblyPath(dllPath);
                Loaded[dllPath] = assembly;
            }

            return assembly;
        }
    }

    /// <summary>
    /// Options types (a public const SectionName) of the service and of the StreamMonitor libraries it uses, directly or
    /// through StreamMonitor.Hosting (which binds the Kafka and Influx sections for every service).
    /// </summary>
    public static IReadOnlyList<OptionsSection> OptionsSections(Assembly service)
    {
        var context = AssemblyLoadContext.GetLoadContext(service)!;
        var assemblies = new List<Assembly> { service };
        var queue = new Queue<Assembly>([service]);
        while (queue.TryDequeue(out var current))
        {
            foreach (var reference in current.GetReferencedAssemblies().Where(r => r.Name!.StartsWith("StreamMonitor.", StringComparison.Ordinal)))
            {
                if (assemblies.All(a => a.GetName().Name != reference.Name))
                {
                    var loaded = context.LoadFromAssemblyName(reference);
                    assemblies.Add(loaded);
                    queue.Enqueue(loaded);
                }
            }
        }

        return assemblies.SelectMany(Types)
            .Select(t => (Type: t, Field: t.GetField("SectionName", BindingFlags.Public | BindingFlags.Static)))
            .Where(x => x.Field is { IsLiteral: true } && x.Field.FieldType == typeof(string))
            .Select(x => new OptionsSection((string)x.Field!.GetRawConstantValue()!, x.Type))
            .DistinctBy(s => s.Name)
            .ToList();
    }

    private static IEnumerable<Type> Types(Assembly assembly)
    {
        try
        {
            return assembly.GetTypes();
        }
        catch (ReflectionTypeLoadException ex)
        {
            return ex.Types.OfType<Type>();
        }
    }

    private sealed class ServiceLoadContext(string mainAssemblyPath) : AssemblyLoadContext(isCollectible: false)
    {
        private readonly AssemblyDependencyResolver _resolver = new(mainAssemblyPath);

        protected override Assembly? Load(AssemblyName assemblyName)
        {
            var path = _resolver.ResolveAssemblyToPath(assemblyName);
            return path is null ? null : LoadFromAssemblyPath(path);
        }
    }
}
