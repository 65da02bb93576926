using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;

namespace StreamMonitor.Models.Inference;

/// <summary>The provider a session will run on, and why CUDA is not it when CUDA was wanted.</summary>
/// <param name="Provider">ONNX Runtime's name of the provider: CPUExecutionProvider or CUDAExecutionProvider.</param>
/// <param name="DeviceId">CUDA device id (meaningful only for CUDA).</param>
/// <param name="FallbackReason">Why CUDA cannot run, when it was asked for (auto) and CPU runs instead; null otherwise.</param>
public sealed record ResolvedProvider(string Provider, int DeviceId, string? FallbackReason)
{
    /// <summary>Whether the CUDA execution provider runs.</summary>
    public bool IsCuda => Provider == ExecutionProviders.Cuda;
}

/// <summary>
/// Decides between CUDA and CPU by actually creating the CUDA execution provider, once per device id and process.
/// <see cref="OrtEnv.GetAvailableProviders"/> cannot decide it: the GPU package lists CUDA even on a machine where
/// its provider library cannot load. Creating it fails in one of two ways: the CPU package has no CUDA entry point
/// (<see cref="EntryPointNotFoundException"/>), and the GPU package without CUDA 13 and cuDNN 9 on the library path
/// cannot load libonnxruntime_providers_cuda.so (<see cref="OnnxRuntimeException"/>, the missing library itself
/// only on ONNX Runtime's stderr).
/// </summary>
public static class ExecutionProviders
{
    /// <summary>ONNX Runtime's name of the CPU provider.</summary>
    public const string Cpu = "CPUExecutionProvider";

    /// <summary>ONNX Runtime's name of the CUDA provider.</summary>
    public const string Cuda = "CUDAExecutionProvider";

    /// <summary>Why CUDA cannot run, per device id (null: it can); computed on first use.</summary>
    private static readonly ConcurrentDictionary<int, Lazy<string?>> Probes = new();

    /// <summary>
    /// Resolves <paramref name="choice"/>: <c>cpu</c> is CPU; <c>auto</c> is CUDA when it can run on
    /// <paramref name="deviceId"/>, else CPU with the reason logged (once per device and process); <c>cuda</c> is
    /// CUDA or an <see cref="ExecutionProviderUnavailableException"/>.
    /// </summary>
    /// <exception cref="ExecutionProviderUnavailableException"><c>cuda</c> was asked for and cannot run; the message says why and what to do.</exception>
    public static ResolvedProvider Resolve(ExecutionProviderChoice choice, int deviceId, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentOutOfRangeException.ThrowIfNegative(deviceId);
        if (choice == ExecutionProviderChoice.Cpu)
        {
            return new ResolvedProvider(Cpu, deviceId, null);
        }

        var reason = Probes.GetOrAdd(deviceId, id => new Lazy<string?>(() => Probe(id))).Value;
        if (reason is null)
        {
            return new ResolvedProvider(Cuda, deviceId, null);
        }

        if (choice == ExecutionProviderChoice.Cuda)
        {
            throw Unavailable(deviceId, reason);
        }

        LogFallback(logger, deviceId, reason);
        return new ResolvedProvider(Cpu, deviceId, reason);
    }

    /// <summary>The error for an explicit <c>cuda</c> that cannot run on <paramref name="deviceId"/>.</summary>
    public static ExecutionProviderUnavailableException Unavailable(int deviceId, string reason, Exception? inner = null) => new(
        $"ExecutionProvider=cuda, but the CUDA execution provider cannot run on device {deviceId}: {reason}. " +
        "Run the GPU build (-p:OnnxRuntimeFlavor=Gpu) with CUDA 13 and cuDNN 9 on the library path (LD_LIBRARY_PATH) and a visible NVIDIA device, " +
        "or set ExecutionProvider=auto (CPU when CUDA cannot run) or cpu.", inner);

    /// <summary>Logs that <c>auto</c> runs on CPU, and why.</summary>
    public static void LogFallback(ILogger logger, int deviceId, string reason)
    {
        ArgumentNullException.ThrowIfNull(logger);
        logger.LogWarning("ExecutionProvider=auto: the CUDA execution provider cannot run on device {CudaDeviceId} ({CudaUnavailableReason}); running on {ExecutionProvider}",
            deviceId, reason, Cpu);
    }

    /// <summary>Creates the CUDA provider in throw-away options; null when it can be created, else why not.</summary>
    private static string? Probe(int deviceId)
    {
        using var options = new SessionOptions();
        try
        {
            options.AppendExecutionProvider_CUDA(deviceId);
            return null;
        }
        catch (EntryPointNotFoundException)
        {
            return "this ONNX Runtime build has no CUDA execution provider (the CPU package; the GPU build is made with -p:OnnxRuntimeFlavor=Gpu)";
        }
        catch (OnnxRuntimeException ex)
        {
            return $"the CUDA provider library could not be loaded ({OneLine(ex.Message)}; it needs CUDA 13 and cuDNN 9 on the library path)";
        }
    }

    private static string OneLine(string text) =>
        string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}

/// <summary>The CUDA execution provider was asked for explicitly (<c>cuda</c>) and cannot run: a configuration error.</summary>
public sealed class ExecutionProviderUnavailableException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ExecutionProviderUnavailableException()
    {
    }

    /// <summary>Creates the exception with its message.</summary>
    public ExecutionProviderUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its message and cause.</summary>
    public ExecutionProviderUnavailableException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
