using System.Globalization;

/// <summary>
/// CPU time of this process's threads, from /proc/self/task (Linux): per thread, the scheduler's on-CPU nanoseconds
/// (schedstat; utime+stime in clock ticks where schedstat is missing) and its name (comm, 15 characters).
/// </summary>
internal static class ThreadCpu
{
    /// <summary>Ids of the process's live threads (empty off Linux).</summary>
    public static HashSet<int> Tids() => Directory.Exists("/proc/self/task")
        ? Directory.EnumerateDirectories("/proc/self/task").Select(d => int.Parse(Path.GetFileName(d), CultureInfo.InvariantCulture)).ToHashSet()
        : [];

    /// <summary>Live threads: id to (name, CPU nanoseconds so far); a thread that ends while read is left out.</summary>
    public static Dictionary<int, (string Comm, long CpuNs)> Snapshot()
    {
        var result = new Dictionary<int, (string, long)>();
        foreach (var tid in Tids())
        {
            try
            {
                var dir = "/proc/self/task/" + tid.ToString(CultureInfo.InvariantCulture);
                var comm = File.ReadAllText(dir + "/comm").TrimEnd('\n');
                long ns;
                if (File.Exists(dir + "/schedstat"))
                {
                    ns = long.Parse(File.ReadAllText(dir + "/schedstat").Split(' ')[0], CultureInfo.InvariantCulture);
                }
                else
                {
                    // Fields after the parenthesised comm: state is field 3, utime 14 and stime 15 (1-based).
                    var stat = File.ReadAllText(dir + "/stat");
                    var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                    ns = (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) * 10_000_000;
                }

                result[tid] = (comm, ns);
            }
            catch (IOException)
            {
                // The thread ended between listing and reading.
            }
        }

        return result;
    }
}

/// <summary>
/// Samples every thread's CPU time while a measured phase runs, so threads that end inside the phase (the backfill's
/// stages, the clients' librdkafka threads) still count up to their last sample; what they used after it shows as
/// the residual against the process total. Groups come from a classifier of (thread id, name).
/// </summary>
internal sealed class ThreadCpuSampler : IDisposable
{
    private const string SamplerName = "bench-cpu-smp";
    private readonly Func<int, string, string> _classify;
    private readonly Dictionary<int, (string Comm, long First, long Last)> _seen = [];
    private readonly Thread _thread;
    private readonly double _processStart;
    private volatile bool _stop;

    private ThreadCpuSampler(Func<int, string, string> classify)
    {
        _classify = classify;
        foreach (var (tid, (comm, ns)) in ThreadCpu.Snapshot())
        {
            _seen[tid] = (comm, ns, ns);
        }

        _processStart = ProcessCpuSeconds();
        _thread = new Thread(Loop) { IsBackground = true, Name = SamplerName };
        _thread.Start();
    }

    /// <summary>Starts sampling; threads alive now count from their present CPU time, later ones from zero.</summary>
    public static ThreadCpuSampler Start(Func<int, string, string> classify) => new(classify);

    /// <summary>Stops sampling: CPU seconds per group (the sampler's own under "bench: CPU sampler"), and the process total.</summary>
    public (Dictionary<string, double> Groups, double ProcessSeconds) Stop()
    {
        _stop = true;
        _thread.Join();
        Sample();
        var processSeconds = ProcessCpuSeconds() - _processStart;
        var groups = new Dictionary<string, double>();
        foreach (var (tid, (comm, first, last)) in _seen)
        {
            var group = comm == SamplerName ? "bench: CPU sampler" : _classify(tid, comm);
            groups[group] = groups.GetValueOrDefault(group) + ((last - first) / 1e9);
        }

        return (groups, processSeconds);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _stop = true;
        _thread.Join();
    }

    private static double ProcessCpuSeconds() => System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;

    private void Loop()
    {
        // 100 ms: short beside a backfill round (1-3 s) so little of an ending thread's time goes unseen, long enough
        // that the sampler's own CPU stays small.
        while (!_stop)
        {
            Thread.Sleep(100);
            Sample();
        }
    }

    private void Sample()
    {
        foreach (var (tid, (comm, ns)) in ThreadCpu.Snapshot())
        {
            _seen[tid] = _seen.TryGetValue(tid, out var known) ? (comm, known.First, ns) : (comm, 0, ns);
        }
    }
}
