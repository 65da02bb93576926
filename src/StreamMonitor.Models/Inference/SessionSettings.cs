namespace StreamMonitor.Models.Inference;

/// <summary>Which ONNX Runtime execution provider to ask for.</summary>
public enum ExecutionProviderChoice
{
    /// <summary>CUDA when its provider can be created on the device, else CPU with the reason logged.</summary>
    Auto,
    /// <summary>CPU only.</summary>
    Cpu,
    /// <summary>CUDA or nothing: a CUDA provider that cannot run is a configuration error (<see cref="ExecutionProviderUnavailableException"/>).</summary>
    Cuda,
}

/// <summary>How a <see cref="ModelSession"/> is created.</summary>
public sealed record SessionSettings
{
    /// <summary>Largest batch in rows: the pinned buffers are sized for it.</summary>
    public int MaxBatchRows { get; init; } = 256;

    /// <summary>Execution provider wanted.</summary>
    public ExecutionProviderChoice Provider { get; init; } = ExecutionProviderChoice.Auto;

    /// <summary>CUDA device id (the ordinal among the devices visible to the process, after CUDA_VISIBLE_DEVICES).</summary>
    public int DeviceId { get; init; }

    /// <summary>
    /// Threads inside one operator; 0 means one per physical core available to the process (<see cref="EffectiveIntraOpThreads"/>).
    /// </summary>
    public int IntraOpThreads { get; init; }

    /// <summary>
    /// The intra-op threads a session gets: <see cref="IntraOpThreads"/>, or for 0 <see cref="PhysicalCores.Available"/>
    /// (the physical cores of the process's affinity list, at most the processors its cgroup CPU limit allows). Not
    /// ONNX Runtime's own default for 0: that counts physical cores from CPUID, and on a 2-vCPU cloud machine it
    /// counted one and left a core idle (batch 256: 44,000 rows/s against 70,000 with two threads; docs/scorer.md).
    /// </summary>
    public int EffectiveIntraOpThreads => IntraOpThreads > 0 ? IntraOpThreads : PhysicalCores.Available();

    /// <summary>Threads across independent operators (the model is sequential, so 1 is usual); 0 lets ONNX Runtime choose.</summary>
    public int InterOpThreads { get; init; } = 1;

    /// <summary>
    /// Whether idle intra-op threads spin waiting for work. Spinning burns cores between batches (ONNX Runtime's
    /// default), which a service sharing the machine with Kafka clients cannot afford, so it is off by default.
    /// </summary>
    public bool AllowSpinning { get; init; }

    /// <summary>
    /// Keeps ONNX Runtime's own log (warnings and errors written straight to stderr) quiet. Every failure still
    /// reaches the caller as an exception with the same message; a command line that prints that message as one
    /// line sets this so the user does not read it twice, in colour, with a source path.
    /// </summary>
    public bool QuietRuntimeLog { get; init; }
}
