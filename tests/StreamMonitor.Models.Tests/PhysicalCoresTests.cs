using System.Globalization;
using StreamMonitor.Models.Inference;

namespace StreamMonitor.Models.Tests;

/// <summary>
/// The default intra-op thread count counts physical cores from the kernel's topology, over made-up sysfs trees:
/// hyperthread siblings count once, cores of two packages with the same core id count twice, and only the CPUs of
/// the affinity list count.
/// </summary>
public sealed class PhysicalCoresTests : IDisposable
{
    private readonly string _sysfs = Directory.CreateTempSubdirectory("streammon-sysfs-").FullName;

    [Theory]
    [InlineData("0-3", 2)] // two cores, each with its hyperthread sibling
    [InlineData("0,2", 2)] // one thread of each core
    [InlineData("0-1", 1)] // both threads of one core
    [InlineData("0-7", 4)] // two packages: core ids 0 and 1 again on package 1
    [InlineData("4", 1)]
    public void Hyperthread_siblings_count_once_and_packages_apart(string allowed, int expected)
    {
        // cpuN: package N / 4, core (N / 2) % 2: cpu0,cpu1 share core 0 of package 0; cpu4,cpu5 share core 0 of package 1.
        for (var cpu = 0; cpu < 8; cpu++)
        {
            Cpu(cpu, package: cpu / 4, core: cpu / 2 % 2);
        }

        Assert.Equal(expected, PhysicalCores.Count(_sysfs, PhysicalCores.ParseList(allowed)));
    }

    [Fact]
    public void A_cpu_without_topology_gives_no_count()
    {
        Cpu(0, package: 0, core: 0);
        Assert.Null(PhysicalCores.Count(_sysfs, [0, 1]));
    }

    [Theory]
    [InlineData("0-3,8,10-11\n", new[] { 0, 1, 2, 3, 8, 10, 11 })]
    [InlineData(" 5 ", new[] { 5 })]
    public void Kernel_cpu_lists_parse(string list, int[] expected) => Assert.Equal(expected, PhysicalCores.ParseList(list));

    [Theory]
    [InlineData("3-1")]
    [InlineData("a")]
    [InlineData("-1")]
    [InlineData("0-99999999")]
    public void A_malformed_cpu_list_is_refused(string list) => Assert.Throws<FormatException>(() => PhysicalCores.ParseList(list));

    [Fact]
    public void This_machine_has_at_least_one_core_and_no_more_than_its_processors()
    {
        var cores = PhysicalCores.Available();
        Assert.InRange(cores, 1, Environment.ProcessorCount);
    }

    private void Cpu(int cpu, int package, int core)
    {
        var topology = Directory.CreateDirectory(Path.Combine(_sysfs, "cpu" + cpu.ToString(CultureInfo.InvariantCulture), "topology")).FullName;
        File.WriteAllText(Path.Combine(topology, "physical_package_id"), package.ToString(CultureInfo.InvariantCulture) + "\n");
        File.WriteAllText(Path.Combine(topology, "core_id"), core.ToString(CultureInfo.InvariantCulture) + "\n");
    }

    public void Dispose() => Directory.Delete(_sysfs, recursive: true);
}
