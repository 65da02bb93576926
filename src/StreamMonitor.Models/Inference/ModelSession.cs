using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;
using StreamMonitor.Models.Store;

namespace StreamMonitor.Models.Inference;

/// <summary>
/// One loaded model version ready to run batches without allocating: the input and output tensors live in pinned
/// float arrays sized for <see cref="SessionSettings.MaxBatchRows"/>, and for every batch size an OrtValue view
/// over those arrays and an IO binding are created once at load. <see cref="Run"/> is then a native call over
/// pre-bound memory. Not thread-safe: one batch at a time (the scorer's batching loop is the only caller).
/// </summary>
public sealed class ModelSession : IDisposable
{
    private const string CpuProvider = "CPUExecutionProvider";
    private const string CudaProvider = "CUDAExecutionProvider";

    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly float[] _input;
    private readonly float[] _output;
    private readonly OrtValue[] _inputValues;
    private readonly OrtValue[] _outputValues;
    private readonly OrtIoBinding[] _bindings;
    private bool _disposed;

    private ModelSession(StoredModel model, InferenceSession session, string provider, int maxBatchRows)
    {
        Model = model;
        _session = session;
        ExecutionProvider = provider;
        MaxBatchRows = maxBatchRows;
        InputWidth = model.Manifest.Features.Count;
        OutputWidth = model.Manifest.OutputWidth;
        _input = GC.AllocateArray<float>(maxBatchRows * InputWidth, pinned: true);
        _output = GC.AllocateArray<float>(maxBatchRows * OutputWidth, pinned: true);
        _inputValues = new OrtValue[maxBatchRows + 1];
        _outputValues = new OrtValue[maxBatchRows + 1];
        _bindings = new OrtIoBinding[maxBatchRows + 1];
        var memoryInfo = OrtMemoryInfo.DefaultInstance;
        for (var rows = 1; rows <= maxBatchRows; rows++)
        {
            _inputValues[rows] = OrtValue.CreateTensorValueFromMemory(memoryInfo, _input.AsMemory(0, rows * InputWidth), [rows, InputWidth]);
            _outputValues[rows] = OrtValue.CreateTensorValueFromMemory(memoryInfo, _output.AsMemory(0, rows * OutputWidth), [rows, OutputWidth]);
            var binding = _session.CreateIoBinding();
            binding.BindInput(model.Manifest.InputName, _inputValues[rows]);
            binding.BindOutput(model.Manifest.OutputName, _outputValues[rows]);
            _bindings[rows] = binding;
        }
    }

    /// <summary>The model version this session runs.</summary>
    public StoredModel Model { get; }

    /// <summary>Provider that runs the model (never one that was only asked for).</summary>
    public string ExecutionProvider { get; }

    /// <summary>Largest batch.</summary>
    public int MaxBatchRows { get; }

    /// <summary>Features per row.</summary>
    public int InputWidth { get; }

    /// <summary>Outputs per row.</summary>
    public int OutputWidth { get; }

    /// <summary>Execution providers compiled into the ONNX Runtime native library in use.</summary>
    public static IReadOnlyList<string> AvailableProviders() => OrtEnv.Instance().GetAvailableProviders();

    /// <summary>
    /// Creates a session: CUDA only when asked for (auto or cuda) and present in the native build; otherwise CPU,
    /// with a log line saying why.
    /// </summary>
    public static ModelSession Create(StoredModel model, SessionSettings settings, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(logger);
        if (settings.MaxBatchRows < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(settings), settings.MaxBatchRows, "MaxBatchRows must be at least 1.");
        }

        using var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            IntraOpNumThreads = settings.IntraOpThreads,
            InterOpNumThreads = settings.InterOpThreads,
        };
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", settings.AllowSpinning ? "1" : "0");
        options.AddSessionConfigEntry("session.inter_op.allow_spinning", settings.AllowSpinning ? "1" : "0");
        var provider = CpuProvider;
        if (settings.Provider != ExecutionProviderChoice.Cpu)
        {
            var available = AvailableProviders();
            if (available.Contains(CudaProvider))
            {
                try
                {
                    options.AppendExecutionProvider_CUDA(0);
                    provider = CudaProvider;
                }
                catch (OnnxRuntimeException ex)
                {
                    logger.LogWarning(ex, "CUDA execution provider could not be initialised for {Model} {Version}; running on CPU", model.Manifest.Name, model.Manifest.Version);
                }
            }
            else
            {
                var level = settings.Provider == ExecutionProviderChoice.Cuda ? LogLevel.Warning : LogLevel.Information;
                logger.Log(level, "Execution provider {Requested} requested but this ONNX Runtime build offers only {Available}; {Model} {Version} runs on CPU",
                    settings.Provider, string.Join(",", available), model.Manifest.Name, model.Manifest.Version);
            }
        }

        var session = new InferenceSession(model.OnnxBytes, options);
        try
        {
            Validate(model, session, settings.MaxBatchRows);
            return new ModelSession(model, session, provider, settings.MaxBatchRows);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>Input row <paramref name="row"/> of the pinned input buffer, to be filled before <see cref="Run"/>.</summary>
    public Span<float> InputRow(int row) => _input.AsSpan(row * InputWidth, InputWidth);

    /// <summary>The whole input buffer (rows x features).</summary>
    public Span<float> InputBuffer => _input;

    /// <summary>Output row <paramref name="row"/> after <see cref="Run"/>.</summary>
    public ReadOnlySpan<float> OutputRow(int row) => _output.AsSpan(row * OutputWidth, OutputWidth);

    /// <summary>Runs the first <paramref name="rows"/> input rows; results are read with <see cref="OutputRow"/>.</summary>
    public void Run(int rows)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (rows < 1 || rows > MaxBatchRows)
        {
            throw new ArgumentOutOfRangeException(nameof(rows), rows, $"Batch must have 1..{MaxBatchRows} rows.");
        }

        _session.RunWithBinding(_runOptions, _bindings[rows]);
    }

    /// <summary>
    /// Runs the model once at batch size 1 and once at the largest batch on the training means, so the first real
    /// request pays no lazy initialisation; returns false if the outputs are not finite.
    /// </summary>
    public bool WarmUp()
    {
        var means = Model.Manifest.FeatureMeans;
        foreach (var rows in new[] { 1, MaxBatchRows })
        {
            for (var r = 0; r < rows; r++)
            {
                var row = InputRow(r);
                for (var j = 0; j < row.Length; j++)
                {
                    row[j] = j < means.Count ? (float)means[j] : 0f;
                }
            }

            Run(rows);
            for (var r = 0; r < rows; r++)
            {
                foreach (var value in OutputRow(r))
                {
                    if (!float.IsFinite(value))
                    {
                        return false;
                    }
                }
            }
        }

        return true;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        for (var rows = 1; rows <= MaxBatchRows; rows++)
        {
            _bindings[rows]?.Dispose();
            _inputValues[rows]?.Dispose();
            _outputValues[rows]?.Dispose();
        }

        _runOptions.Dispose();
        _session.Dispose();
    }

    private static void Validate(StoredModel model, InferenceSession session, int maxBatchRows)
    {
        var manifest = model.Manifest;
        if (!session.InputMetadata.TryGetValue(manifest.InputName, out var input) || session.InputMetadata.Count != 1)
        {
            throw new InvalidDataException($"{manifest.Name} {manifest.Version}: the model must have exactly one input named '{manifest.InputName}'.");
        }

        if (!session.OutputMetadata.TryGetValue(manifest.OutputName, out var output))
        {
            throw new InvalidDataException($"{manifest.Name} {manifest.Version}: the model has no output named '{manifest.OutputName}'.");
        }

        if (input.ElementType != typeof(float) || output.ElementType != typeof(float))
        {
            throw new InvalidDataException($"{manifest.Name} {manifest.Version}: input and output must be float tensors.");
        }

        if (input.Dimensions.Length != 2 || input.Dimensions[1] != manifest.Features.Count)
        {
            throw new InvalidDataException($"{manifest.Name} {manifest.Version}: input shape [{string.Join(',', input.Dimensions)}] does not match {manifest.Features.Count} features.");
        }

        if (output.Dimensions.Length != 2 || output.Dimensions[1] != manifest.OutputWidth)
        {
            throw new InvalidDataException($"{manifest.Name} {manifest.Version}: output shape [{string.Join(',', output.Dimensions)}] does not match output width {manifest.OutputWidth}.");
        }

        // A fixed first dimension (what torch.onnx.export writes without dynamic_axes) runs only batches of exactly
        // that many rows; ONNX Runtime would refuse every other batch size, the first time at warm-up.
        if (input.Dimensions[0] > 0 && (input.Dimensions[0] != 1 || maxBatchRows != 1))
        {
            throw new InvalidDataException($"{manifest.Name} {manifest.Version}: input '{manifest.InputName}' has a fixed batch dimension of {input.Dimensions[0]}, but batches of 1..{maxBatchRows} rows are run; export the model with a dynamic batch axis (torch.onnx.export(..., dynamic_axes={{'{manifest.InputName}': {{0: 'batch'}}, '{manifest.OutputName}': {{0: 'batch'}}}})).");
        }
    }
}
