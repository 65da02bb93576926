using System.Globalization;

namespace StreamMonitor.Models.Inference;

/// <summary>
/// How many physical cores this process may run on: the distinct (package, core) pairs of the CPUs in its affinity
/// list (Linux sysfs topology), at most <see cref="Environment.ProcessorCount"/> (which also honours a cgroup CPU
/// limit). Intra-op threads beyond the physical cores share a core's arithmetic units with their hyperthread sibling
/// and add nothing to a matrix product. ONNX Runtime means the same by its default, but counts cores from CPUID, which
/// on a 2-vCPU cloud machine said one; sysfs there says two, as the kernel schedules them.
/// </summary>
public static class PhysicalCores
{
    private const string SysfsCpus = "/sys/devices/system/cpu";
    private const string ProcessStatus = "/proc/self/status";

    // Read once: every session asks, and the answer takes two sysfs reads per CPU.
    private static readonly Lazy<int> AvailableCores = new(Read);

    /// <summary>The physical cores available to this process; <see cref="Environment.ProcessorCount"/> where the topology cannot be read.</summary>
    public static int Available() => AvailableCores.Value;

    private static int Read()
    {
        if (!OperatingSystem.IsLinux())
        {
            return Environment.ProcessorCount;
        }

        try
        {
            var allowed = File.ReadLines(ProcessStatus).FirstOrDefault(l => l.StartsWith("Cpus_allowed_list:", StringComparison.Ordinal));
            return allowed is null
                ? Environment.ProcessorCount
                : Math.Min(Environment.ProcessorCount, Count(SysfsCpus, ParseList(allowed["Cpus_allowed_list:".Length..])) ?? Environment.ProcessorCount);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or OverflowException)
        {
            return Environment.ProcessorCount;
        }
    }

    /// <summary>
    /// The distinct (physical_package_id, core_id) pairs of <paramref name="cpus"/> under <paramref name="sysfsCpus"/>
    /// (a directory laid out as /sys/devices/system/cpu); null when a CPU's topology is missing.
    /// </summary>
    public static int? Count(string sysfsCpus, IEnumerable<int> cpus)
    {
        ArgumentNullException.ThrowIfNull(cpus);
        var cores = new HashSet<(string Package, string Core)>();
        foreach (var cpu in cpus)
        {
            var topology = Path.Combine(sysfsCpus, "cpu" + cpu.ToString(CultureInfo.InvariantCulture), "topology");
            var package = Path.Combine(topology, "physical_package_id");
            var core = Path.Combine(topology, "core_id");
            if (!File.Exists(package) || !File.Exists(core))
            {
                return null;
            }

            cores.Add((File.ReadAllText(package).Trim(), File.ReadAllText(core).Trim()));
        }

        return cores.Count > 0 ? cores.Count : null;
    }

    /// <summary>Parses a kernel CPU list such as "0-3,8,10-11".</summary>
    /// <exception cref="FormatException">Not a CPU list.</exception>
    public static IReadOnlyList<int> ParseList(string list)
    {
        ArgumentNullException.ThrowIfNull(list);
        var cpus = new List<int>();
        foreach (var part in list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var dash = part.IndexOf('-', StringComparison.Ordinal);
            var first = int.Parse(dash < 0 ? part : part[..dash], NumberStyles.None, CultureInfo.InvariantCulture);
            var last = dash < 0 ? first : int.Parse(part[(dash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture);
            if (last < first || last - first > 1 << 16)
            {
                throw new FormatException($"'{part}' is not a CPU range.");
            }

            for (var cpu = first; cpu <= last; cpu++)
            {
                cpus.Add(cpu);
            }
        }

        return cpus;
    }
}
