using Microsoft.Extensions.Logging.Abstractions;
using StreamMonitor.Models.Inference;
using StreamMonitor.Models.Store;

namespace StreamMonitor.Scorer.Tests;

/// <summary>
/// IntraOpThreads=0 gives a session one intra-op thread per physical core available to the process, not ONNX Runtime's
/// own default (which counted one core on a 2-vCPU machine and left the other idle: issue #13). The threads are
/// counted by name: Linux threads inherit their creator's name, so a session created on a thread with a unique name
/// owns exactly the threads that carry it beside its creator (its intra-op pool), whatever other tests start meanwhile.
/// </summary>
public sealed class IntraOpThreadsTests : IDisposable
{
    private readonly string _store = Directory.CreateTempSubdirectory("streammon-intraop-").FullName;

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    public void A_session_runs_the_intra_op_threads_its_settings_give(int configured)
    {
        var model = ScorerHarness.BuildModel(_store, "cancer", "1");
        var stored = new ModelStore(_store).Load("cancer", model.Manifest.Version);
        var settings = new SessionSettings { MaxBatchRows = 4, Provider = ExecutionProviderChoice.Cpu, IntraOpThreads = configured };
        var expected = configured > 0 ? configured : PhysicalCores.Available();
        Assert.Equal(expected, settings.EffectiveIntraOpThreads);

        // The first session in a process also starts a process-wide thread of ONNX Runtime's; one created beforehand
        // on another thread keeps it out of the count.
        ModelSession.Create(stored, settings with { IntraOpThreads = 1 }, NullLogger.Instance).Dispose();
        var name = "iop" + Guid.NewGuid().ToString("N")[..12];
        int withSession = -1, afterDispose = -1;
        var creator = new Thread(() =>
        {
            using (var session = ModelSession.Create(stored, settings, NullLogger.Instance))
            {
                session.Run(1);
                withSession = ThreadsNamed(name);
            }

            afterDispose = ThreadsNamed(name);
        }) { Name = name };
        creator.Start();
        creator.Join();

        // The creator itself and its pool: ONNX Runtime's calling thread is one of the intra-op threads.
        Assert.Equal(expected, withSession);
        Assert.Equal(1, afterDispose);
    }

    private static int ThreadsNamed(string name) => Directory.EnumerateDirectories("/proc/self/task")
        .Count(task => File.Exists(Path.Combine(task, "comm")) && ReadName(task) == name);

    private static string? ReadName(string task)
    {
        try
        {
            return File.ReadAllText(Path.Combine(task, "comm")).TrimEnd('\n');
        }
        catch (IOException)
        {
            return null; // the thread ended between listing and reading
        }
    }

    public void Dispose() => Directory.Delete(_store, recursive: true);
}
