using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;
using StreamMonitor.Contracts;
using StreamMonitor.Models.Store;

namespace StreamMonitor.Models.Inference;

/// <summary>
/// One loaded model version ready to run batches without allocating: the input and output tensors live in pinned
/// arrays sized for <see cref="SessionSettings.MaxBatchRows"/>, and an OrtValue view over those arrays and an IO
/// binding are created once at load for every batch size (or, for a graph with a fixed batch size, for every chunk).
/// <see cref="Run"/> is then a native call over pre-bound memory.
/// <para>
/// What exporters write is served as it is (<see cref="ModelSignature"/>): a float64 input is filled in its own pinned
/// float64 buffer; a float64 output is cast once per run into the float32 rows <see cref="OutputRow"/> returns; a
/// [batch] output is read as one column; a graph with a fixed batch size B (torch.onnx.export without dynamic_axes)
/// runs each batch as consecutive B-row chunks, the rows after the last real one holding whatever the buffer held
/// (their outputs are never read); a ZipMap output is copied from the maps ONNX Runtime allocates, one column per
/// class name, the only case that allocates per run. Logit outputs get a sigmoid or softmax after the run, so
/// <see cref="OutputRow"/> always holds what <see cref="ModelManifest.OutputKind"/> says.
/// </para>
/// Not thread-safe: one batch at a time (the scorer's batching loop is the only caller).
/// </summary>
public sealed class ModelSession : IDisposable
{
    private const string CpuProvider = ExecutionProviders.Cpu;

    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly float[]? _input;
    private readonly double[]? _inputDouble;
    private readonly float[] _output;
    private readonly double[]? _outputDouble;
    private readonly bool _logits;

    /// <summary>Dynamic batch: slot r runs rows [0, r). Fixed batch B: slot c runs rows [cB, (c+1)B).</summary>
    private readonly OrtValue?[] _inputValues;
    private readonly OrtValue?[] _outputValues;
    private readonly OrtIoBinding?[] _bindings;
    private readonly ZipMapReader? _zipMap;
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;
    private bool _disposed;

    private ModelSession(StoredModel model, InferenceSession session, ModelSignature signature, string provider, int maxBatchRows)
    {
        var manifest = model.Manifest;
        Model = model;
        Signature = signature;
        _session = session;
        ExecutionProvider = provider;
        MaxBatchRows = maxBatchRows;
        InputWidth = manifest.Features.Count;
        OutputWidth = manifest.OutputWidth;
        _logits = manifest.Logits;
        var fixedBatch = signature.FixedBatch;
        var capacity = fixedBatch > 0 ? (maxBatchRows + fixedBatch - 1) / fixedBatch * fixedBatch : maxBatchRows;
        if (signature.InputIsDouble)
        {
            _inputDouble = GC.AllocateArray<double>(capacity * InputWidth, pinned: true);
        }
        else
        {
            _input = GC.AllocateArray<float>(capacity * InputWidth, pinned: true);
        }

        _output = GC.AllocateArray<float>(capacity * OutputWidth, pinned: true);
        if (signature.OutputIsDouble)
        {
            _outputDouble = GC.AllocateArray<double>(capacity * OutputWidth, pinned: true);
        }

        _inputNames = [signature.InputName];
        _outputNames = [signature.OutputName];
        if (signature.Layout == OutputLayout.ZipMap)
        {
            _zipMap = new ZipMapReader(manifest, signature.ZipMapStringKeys);
        }

        var slots = fixedBatch > 0 ? capacity / fixedBatch : maxBatchRows + 1;
        _inputValues = new OrtValue?[slots];
        _outputValues = new OrtValue?[slots];
        _bindings = new OrtIoBinding?[slots];
        for (var slot = fixedBatch > 0 ? 0 : 1; slot < slots; slot++)
        {
            var (first, rows) = fixedBatch > 0 ? (slot * fixedBatch, fixedBatch) : (0, slot);
            _inputValues[slot] = InputValue(first, rows);
            if (_zipMap is not null)
            {
                continue;
            }

            _outputValues[slot] = OutputValue(first, rows);
            var binding = _session.CreateIoBinding();
            binding.BindInput(signature.InputName, _inputValues[slot]);
            binding.BindOutput(signature.OutputName, _outputValues[slot]);
            _bindings[slot] = binding;
        }
    }

    /// <summary>The model version this session runs.</summary>
    public StoredModel Model { get; }

    /// <summary>The input and output it feeds and reads, as the graph declares them.</summary>
    public ModelSignature Signature { get; }

    /// <summary>Provider that runs the model (never one that was only asked for).</summary>
    public string ExecutionProvider { get; }

    /// <summary>Largest batch.</summary>
    public int MaxBatchRows { get; }

    /// <summary>Features per row.</summary>
    public int InputWidth { get; }

    /// <summary>Outputs per row.</summary>
    public int OutputWidth { get; }

    /// <summary>Whether the input is float64: rows are then filled through <see cref="InputRowDouble"/>.</summary>
    public bool InputIsDouble => Signature.InputIsDouble;

    /// <summary>Execution providers compiled into the ONNX Runtime native library in use.</summary>
    public static IReadOnlyList<string> AvailableProviders() => OrtEnv.Instance().GetAvailableProviders();

    /// <summary>
    /// Creates a session on the provider <see cref="ExecutionProviders.Resolve"/> picks for the settings: CUDA under
    /// auto or cuda when it can run, else CPU under auto (the reason logged). The graph must match the manifest
    /// (<see cref="ManifestCheck.Check"/>).
    /// </summary>
    /// <exception cref="InvalidDataException">The graph cannot be served with this manifest; the message says why and what to do.</exception>
    /// <exception cref="ExecutionProviderUnavailableException">cuda was asked for and cannot run.</exception>
    public static ModelSession Create(StoredModel model, SessionSettings settings, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(logger);
        if (settings.MaxBatchRows < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(settings), settings.MaxBatchRows, "MaxBatchRows must be at least 1.");
        }

        var resolved = ExecutionProviders.Resolve(settings.Provider, settings.DeviceId, logger);
        var session = NewSession(model, settings, resolved.IsCuda, out var cudaFailure);
        if (session is null)
        {
            // The CUDA provider library loaded, yet the session could not be created with it (no usable device, cuDNN missing).
            resolved = new ResolvedProvider(CpuProvider, settings.DeviceId, $"the session could not be created with the CUDA execution provider: {cudaFailure}");
            if (settings.Provider == ExecutionProviderChoice.Cuda)
            {
                throw ExecutionProviders.Unavailable(settings.DeviceId, resolved.FallbackReason!);
            }

            ExecutionProviders.LogFallback(logger, settings.DeviceId, resolved.FallbackReason!);
            session = NewSession(model, settings, cuda: false, out _)!;
        }

        try
        {
            var signature = ManifestCheck.Check(model.Manifest, session);
            if (signature.FixedBatch > 0)
            {
                logger.LogInformation("{Model} {Version}: the graph fixes the batch at {FixedBatch} rows; every batch runs as {FixedBatch}-row chunks, the last one padded",
                    model.Manifest.Name, model.Manifest.Version, signature.FixedBatch, signature.FixedBatch);
            }

            return new ModelSession(model, session, signature, resolved.Provider, settings.MaxBatchRows);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>
    /// An ONNX Runtime session for <paramref name="model"/>, with the CUDA provider first when <paramref name="cuda"/>;
    /// null when only the CUDA provider kept it from being created, <paramref name="cudaFailure"/> saying why (the
    /// caller decides between CPU and an error).
    /// </summary>
    private static InferenceSession? NewSession(StoredModel model, SessionSettings settings, bool cuda, out string? cudaFailure)
    {
        cudaFailure = null;
        using var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            IntraOpNumThreads = settings.EffectiveIntraOpThreads,
            InterOpNumThreads = settings.InterOpThreads,
            LogSeverityLevel = settings.QuietRuntimeLog ? OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL : OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING,
        };
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", settings.AllowSpinning ? "1" : "0");
        options.AddSessionConfigEntry("session.inter_op.allow_spinning", settings.AllowSpinning ? "1" : "0");
        if (!cuda)
        {
            return new InferenceSession(model.OnnxBytes, options);
        }

        options.AppendExecutionProvider_CUDA(settings.DeviceId);
        try
        {
            return new InferenceSession(model.OnnxBytes, options);
        }
        catch (OnnxRuntimeException ex)
        {
            cudaFailure = string.Join(' ', ex.Message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            return null;
        }
    }

    /// <summary>Input row <paramref name="row"/> of a float32 model's pinned input buffer, to be filled before <see cref="Run"/>.</summary>
    /// <exception cref="InvalidOperationException">The model's input is float64 (<see cref="InputIsDouble"/>).</exception>
    public Span<float> InputRow(int row) => _input is { } input
        ? input.AsSpan(row * InputWidth, InputWidth)
        : throw new InvalidOperationException($"{Model.Manifest.Name} {Model.Manifest.Version} has a float64 input: fill it with InputRowDouble (FeatureValidator.Fill(event, session, row) picks the right one).");

    /// <summary>Input row <paramref name="row"/> of a float64 model's pinned input buffer.</summary>
    /// <exception cref="InvalidOperationException">The model's input is float32.</exception>
    public Span<double> InputRowDouble(int row) => _inputDouble is { } input
        ? input.AsSpan(row * InputWidth, InputWidth)
        : throw new InvalidOperationException($"{Model.Manifest.Name} {Model.Manifest.Version} has a float32 input: fill it with InputRow.");

    /// <summary>Output row <paramref name="row"/> after <see cref="Run"/>, as <see cref="ModelManifest.OutputKind"/> defines it.</summary>
    public ReadOnlySpan<float> OutputRow(int row) => _output.AsSpan(row * OutputWidth, OutputWidth);

    /// <summary>Runs the first <paramref name="rows"/> input rows; results are read with <see cref="OutputRow"/>.</summary>
    public void Run(int rows)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (rows < 1 || rows > MaxBatchRows)
        {
            throw new ArgumentOutOfRangeException(nameof(rows), rows, $"Batch must have 1..{MaxBatchRows} rows.");
        }

        var fixedBatch = Signature.FixedBatch;
        if (fixedBatch > 0)
        {
            for (var chunk = 0; chunk * fixedBatch < rows; chunk++)
            {
                RunSlot(chunk, chunk * fixedBatch, fixedBatch);
            }
        }
        else
        {
            RunSlot(rows, 0, rows);
        }

        var values = rows * OutputWidth;
        if (_outputDouble is { } doubles)
        {
            for (var i = 0; i < values; i++)
            {
                _output[i] = (float)doubles[i];
            }
        }

        if (_logits)
        {
            for (var r = 0; r < rows; r++)
            {
                ApplyLogits(_output.AsSpan(r * OutputWidth, OutputWidth));
            }
        }
    }

    /// <summary>
    /// Runs the model once at batch size 1 and once at the largest batch on the training means (zeros when the
    /// manifest has none), so the first real request pays no lazy initialisation; returns false if the outputs are
    /// not finite.
    /// </summary>
    public bool WarmUp()
    {
        var means = Model.Manifest.FeatureMeans;
        foreach (var rows in new[] { 1, MaxBatchRows })
        {
            for (var r = 0; r < rows; r++)
            {
                for (var j = 0; j < InputWidth; j++)
                {
                    var value = j < means.Count ? means[j] : 0;
                    if (_inputDouble is { } doubles)
                    {
                        doubles[(r * InputWidth) + j] = value;
                    }
                    else
                    {
                        _input![(r * InputWidth) + j] = (float)value;
                    }
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
        for (var slot = 0; slot < _inputValues.Length; slot++)
        {
            _bindings[slot]?.Dispose();
            _inputValues[slot]?.Dispose();
            _outputValues[slot]?.Dispose();
        }

        _runOptions.Dispose();
        _session.Dispose();
    }

    /// <summary>Sigmoid of a single logit, softmax of a row of them (shifted by the maximum, so no overflow).</summary>
    private static void ApplyLogits(Span<float> row)
    {
        if (row.Length == 1)
        {
            row[0] = (float)(1 / (1 + Math.Exp(-(double)row[0])));
            return;
        }

        var max = double.NegativeInfinity;
        foreach (var value in row)
        {
            max = Math.Max(max, value);
        }

        var sum = 0.0;
        for (var k = 0; k < row.Length; k++)
        {
            sum += Math.Exp(row[k] - max);
        }

        for (var k = 0; k < row.Length; k++)
        {
            row[k] = (float)(Math.Exp(row[k] - max) / sum);
        }
    }

    private OrtValue InputValue(int firstRow, int rows)
    {
        var memoryInfo = OrtMemoryInfo.DefaultInstance;
        long[] shape = [rows, InputWidth];
        return _inputDouble is { } doubles
            ? OrtValue.CreateTensorValueFromMemory(memoryInfo, doubles.AsMemory(firstRow * InputWidth, rows * InputWidth), shape)
            : OrtValue.CreateTensorValueFromMemory(memoryInfo, _input!.AsMemory(firstRow * InputWidth, rows * InputWidth), shape);
    }

    private OrtValue OutputValue(int firstRow, int rows)
    {
        var memoryInfo = OrtMemoryInfo.DefaultInstance;
        long[] shape = Signature.Layout == OutputLayout.Vector ? [rows] : [rows, OutputWidth];
        return _outputDouble is { } doubles
            ? OrtValue.CreateTensorValueFromMemory(memoryInfo, doubles.AsMemory(firstRow * OutputWidth, rows * OutputWidth), shape)
            : OrtValue.CreateTensorValueFromMemory(memoryInfo, _output.AsMemory(firstRow * OutputWidth, rows * OutputWidth), shape);
    }

    private void RunSlot(int slot, int firstRow, int rows)
    {
        if (_zipMap is null)
        {
            _session.RunWithBinding(_runOptions, _bindings[slot]);
            return;
        }

        using var results = _session.Run(_runOptions, _inputNames, [_inputValues[slot]!], _outputNames);
        _zipMap.Read(results.First(), _output.AsSpan(firstRow * OutputWidth, rows * OutputWidth));
    }
}
