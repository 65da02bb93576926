using System.Runtime.InteropServices;
using Confluent.Kafka;

namespace StreamMonitor.Kafka;

/// <summary>
/// Loads the librdkafka native library that works on this platform before any client is created. On Debian 12 the
/// default linux-x64 build needs libsasl2.so.3 (Debian ships .so.2), while the centos8 build shipped beside it loads.
/// The path can be forced with STREAMMON_LIBRDKAFKA. Confluent.Kafka loads an explicit path through dlopen imported from
/// "libdl", which Debian 12 only ships as libdl.so.2 (the unversioned name comes with libc6-dev), and then binds its
/// [DllImport("librdkafka")] methods, which would probe the broken default file: both imports are resolved here.
/// </summary>
public static class KafkaNative
{
    private static readonly Lazy<string?> Loaded = new(LoadOnce, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Path of the native library loaded, or null when Confluent.Kafka's default loading is used.</summary>
    public static string? LoadedPath => Loaded.Value;

    /// <summary>Loads the native library once per process; later calls are free.</summary>
    public static void EnsureLoaded() => _ = Loaded.Value;

    private static string? LoadOnce()
    {
        foreach (var candidate in Candidates())
        {
            if (!File.Exists(candidate) || !NativeLibrary.TryLoad(candidate, out var handle))
            {
                continue;
            }

            if (OperatingSystem.IsLinux())
            {
                // Kept loaded for the process lifetime: every librdkafka import of Confluent.Kafka resolves to it.
                NativeLibrary.SetDllImportResolver(typeof(Library).Assembly, (name, _, _) => Resolve(name, handle));
            }
            else
            {
                NativeLibrary.Free(handle);
            }

            Library.Load(candidate);
            return candidate;
        }

        return null;
    }

    private static nint Resolve(string name, nint librdkafka)
    {
        if (string.Equals(name, "libdl", StringComparison.Ordinal))
        {
            return NativeLibrary.TryLoad("libdl.so.2", out var libdl) || NativeLibrary.TryLoad("libc.so.6", out libdl) ? libdl : 0;
        }

        return name.Contains("rdkafka", StringComparison.Ordinal) ? librdkafka : 0;
    }

    private static IEnumerable<string> Candidates()
    {
        var forced = Environment.GetEnvironmentVariable("STREAMMON_LIBRDKAFKA");
        if (!string.IsNullOrEmpty(forced))
        {
            yield return forced;
        }

        if (!OperatingSystem.IsLinux())
        {
            yield break;
        }

        var native = Path.Combine(AppContext.BaseDirectory, "runtimes", RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? "linux-arm64" : "linux-x64", "native");
        yield return Path.Combine(native, "librdkafka.so");
        yield return Path.Combine(native, "centos8-librdkafka.so");
        yield return Path.Combine(native, "alpine-librdkafka.so");
    }
}
