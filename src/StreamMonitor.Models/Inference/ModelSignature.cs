using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace StreamMonitor.Models.Inference;

/// <summary>How the scores come out of the output the scorer reads.</summary>
public enum OutputLayout
{
    /// <summary>A [batch] tensor: one value per row.</summary>
    Vector,

    /// <summary>A [batch, width] tensor.</summary>
    Matrix,

    /// <summary>
    /// What skl2onnx's ZipMap writes: a sequence with one map per row from class label (int64 or string) to
    /// probability. ONNX Runtime cannot write it into a pre-allocated buffer, so each run allocates it.
    /// </summary>
    ZipMap,
}

/// <summary>
/// The input the scorer feeds and the output it reads, chosen from what ONNX Runtime says the graph takes and
/// gives. What common exporters write is accepted: one [batch, features] float or double input (a fixed batch
/// size included, as torch.onnx.export writes without dynamic_axes); a [batch], [batch, 1], [batch, 2] or
/// [batch, classes] float or double output, beside which int64 or string label outputs are left alone; or a
/// ZipMap (sequence of maps). Everything else is refused with an <see cref="InvalidDataException"/> that says
/// what was found and what to do.
/// </summary>
public sealed record ModelSignature
{
    /// <summary>The input the features go to.</summary>
    public required string InputName { get; init; }

    /// <summary>Whether the input is float64 (else float32).</summary>
    public required bool InputIsDouble { get; init; }

    /// <summary>Columns of the input, or -1 when the graph leaves that dimension open.</summary>
    public required int InputColumns { get; init; }

    /// <summary>
    /// The batch size fixed in the graph (input or output first dimension), or 0 when it is dynamic. A fixed size B
    /// is served by running every batch as consecutive B-row chunks, the last one padded.
    /// </summary>
    public required int FixedBatch { get; init; }

    /// <summary>The output the scores are read from.</summary>
    public required string OutputName { get; init; }

    /// <summary>Its layout.</summary>
    public required OutputLayout Layout { get; init; }

    /// <summary>Whether a tensor output is float64 (cast to float32 after each run).</summary>
    public required bool OutputIsDouble { get; init; }

    /// <summary>Values per row for tensor outputs (1 for a vector); 0 for a ZipMap, whose classes come from its keys.</summary>
    public required int OutputWidth { get; init; }

    /// <summary>For a ZipMap: whether its keys are strings (else int64).</summary>
    public bool ZipMapStringKeys { get; init; }

    /// <summary>An int64 or string label output beside the scores (not run by the scorer), if the model has one.</summary>
    public string? LabelOutputName { get; init; }

    /// <summary>The input as "float [N,30]".</summary>
    public required string InputDescription { get; init; }

    /// <summary>The output as "float [N,2]" or "sequence of map(int64, float)".</summary>
    public required string OutputDescription { get; init; }

    /// <summary>
    /// Chooses the input and output of <paramref name="session"/>: the named ones, or the only candidates when
    /// <paramref name="inputName"/> / <paramref name="outputName"/> are null.
    /// </summary>
    /// <exception cref="InvalidDataException">The graph cannot be fed or read; the message says why and what to do.</exception>
    public static ModelSignature Read(InferenceSession session, string? inputName, string? outputName)
    {
        ArgumentNullException.ThrowIfNull(session);
        var (input, inputMeta) = ChooseInput(session.InputMetadata, inputName);
        var (output, outputMeta) = ChooseOutput(session.OutputMetadata, outputName);
        var inputDims = inputMeta.Dimensions;
        var inputBatch = inputDims[0] > 0 ? inputDims[0] : 0;
        var layout = Classify(outputMeta);
        var outputBatch = layout != OutputLayout.ZipMap && outputMeta.Dimensions[0] > 0 ? outputMeta.Dimensions[0] : 0;
        if (inputBatch > 0 && outputBatch > 0 && inputBatch != outputBatch)
        {
            throw new InvalidDataException($"input '{input}' has a fixed batch of {inputBatch} rows but output '{output}' one of {outputBatch}: export the model with a dynamic batch axis (torch.onnx.export(..., dynamic_axes={{'{input}': {{0: 'batch'}}, '{output}': {{0: 'batch'}}}})).");
        }

        var width = layout switch
        {
            OutputLayout.Vector => 1,
            OutputLayout.Matrix => outputMeta.Dimensions[1],
            _ => 0,
        };
        if (layout == OutputLayout.Matrix && width <= 0)
        {
            throw new InvalidDataException($"output '{output}' is {Describe(outputMeta)}: its width (one value per class) is not fixed in the graph; export it with a fixed number of columns.");
        }

        var label = session.OutputMetadata.FirstOrDefault(o => o.Key != output && IsLabel(o.Value)).Key;
        return new ModelSignature
        {
            InputName = input,
            InputIsDouble = inputMeta.ElementDataType == TensorElementType.Double,
            InputColumns = inputDims[1] > 0 ? inputDims[1] : -1,
            FixedBatch = Math.Max(inputBatch, outputBatch),
            OutputName = output,
            Layout = layout,
            OutputIsDouble = layout != OutputLayout.ZipMap && outputMeta.ElementDataType == TensorElementType.Double,
            OutputWidth = width,
            ZipMapStringKeys = layout == OutputLayout.ZipMap && outputMeta.AsSequenceMetadata().ElementMeta.AsMapMetadata().KeyDataType == TensorElementType.String,
            LabelOutputName = label,
            InputDescription = Describe(inputMeta),
            OutputDescription = Describe(outputMeta),
        };
    }

    /// <summary>A value as "float [N,30]", "int64 [N]" or "sequence of map(int64, float)"; N is a dynamic dimension.</summary>
    public static string Describe(NodeMetadata metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        return metadata.OnnxValueType switch
        {
            OnnxValueType.ONNX_TYPE_TENSOR => $"{TypeName(metadata.ElementDataType)} [{string.Join(',', metadata.Dimensions.Select(d => d > 0 ? d.ToString(CultureInfo.InvariantCulture) : "N"))}]",
            OnnxValueType.ONNX_TYPE_SEQUENCE => "sequence of " + Describe(metadata.AsSequenceMetadata().ElementMeta),
            OnnxValueType.ONNX_TYPE_MAP => $"map({TypeName(metadata.AsMapMetadata().KeyDataType)}, {DescribeElement(metadata.AsMapMetadata().ValueMetadata)})",
            var other => other.ToString().Replace("ONNX_TYPE_", "", StringComparison.Ordinal).ToLowerInvariant(),
        };
    }

    private static string DescribeElement(NodeMetadata metadata) =>
        metadata.OnnxValueType == OnnxValueType.ONNX_TYPE_TENSOR && metadata.Dimensions.Length == 0 ? TypeName(metadata.ElementDataType) : Describe(metadata);

    private static string TypeName(TensorElementType type) => type switch
    {
        TensorElementType.Float => "float",
        TensorElementType.Double => "double",
        TensorElementType.Float16 => "float16",
        TensorElementType.BFloat16 => "bfloat16",
        TensorElementType.Int64 => "int64",
        TensorElementType.Int32 => "int32",
        TensorElementType.String => "string",
        TensorElementType.Bool => "bool",
        var other => other.ToString().ToLowerInvariant(),
    };

    private static string List(IReadOnlyDictionary<string, NodeMetadata> values) =>
        string.Join(", ", values.Select(v => $"{v.Key} {Describe(v.Value)}"));

    private static (string Name, NodeMetadata Metadata) ChooseInput(IReadOnlyDictionary<string, NodeMetadata> inputs, string? name)
    {
        if (inputs.Count == 0)
        {
            throw new InvalidDataException("the model has no inputs: export it with one [batch, features] float input.");
        }

        if (name is not null && !inputs.ContainsKey(name))
        {
            throw new InvalidDataException($"the model has no input '{name}'; its inputs: {List(inputs)}.");
        }

        if (inputs.Count > 1)
        {
            throw new InvalidDataException($"the model has {inputs.Count} inputs ({List(inputs)}) but the scorer feeds one [batch, features] tensor: export it with a single input (concatenate the features before the first layer).");
        }

        var (inputName, metadata) = inputs.First();
        if (metadata.OnnxValueType != OnnxValueType.ONNX_TYPE_TENSOR)
        {
            throw new InvalidDataException($"input '{inputName}' is {Describe(metadata)}; the scorer feeds a [batch, features] float tensor: export the model with a tensor input.");
        }

        if (metadata.ElementDataType is not (TensorElementType.Float or TensorElementType.Double))
        {
            throw new InvalidDataException($"input '{inputName}' is {Describe(metadata)}; the scorer feeds float32 or float64 features: export the model with a float input (skl2onnx: FloatTensorType; torch: a float example input) and cast inside the graph if it needs integers.");
        }

        if (metadata.Dimensions.Length != 2)
        {
            throw new InvalidDataException($"input '{inputName}' is {Describe(metadata)}; the scorer feeds a 2-D [batch, features] tensor: export the model with a 2-D input (flatten or reshape inside the graph).");
        }

        return (inputName, metadata);
    }

    private static (string Name, NodeMetadata Metadata) ChooseOutput(IReadOnlyDictionary<string, NodeMetadata> outputs, string? name)
    {
        if (name is not null)
        {
            if (!outputs.TryGetValue(name, out var named))
            {
                throw new InvalidDataException($"the model has no output '{name}'; its outputs: {List(outputs)}.");
            }

            if (!IsScore(named))
            {
                throw new InvalidDataException(Unreadable(name, named));
            }

            return (name, named);
        }

        if (outputs.Count == 0)
        {
            throw new InvalidDataException("the model has no outputs: export it with a probabilities or score output.");
        }

        var scores = outputs.Where(o => IsScore(o.Value)).ToList();
        var tensors = scores.Where(o => o.Value.OnnxValueType == OnnxValueType.ONNX_TYPE_TENSOR).ToList();
        if (scores.Count == 1)
        {
            return (scores[0].Key, scores[0].Value);
        }

        if (tensors.Count == 1)
        {
            // A probabilities tensor beside a ZipMap of the same probabilities: the tensor needs no per-run allocation.
            return (tensors[0].Key, tensors[0].Value);
        }

        if (scores.Count > 1)
        {
            throw new InvalidDataException($"the model has {scores.Count} outputs the scorer could read ({string.Join(", ", scores.Select(s => $"{s.Key} {Describe(s.Value)}"))}): name the probabilities (or score) output with --output NAME.");
        }

        var labels = outputs.Where(o => IsLabel(o.Value)).ToList();
        var others = outputs.Where(o => !IsLabel(o.Value)).ToList();
        if (others.Count > 0)
        {
            throw new InvalidDataException(Unreadable(others[0].Key, others[0].Value));
        }

        throw new InvalidDataException($"the model has only label outputs ({List(labels.ToDictionary())}); the scorer needs the probabilities or a score: export them too (skl2onnx writes them by default; torch: return the probabilities from forward).");
    }

    private static string Unreadable(string name, NodeMetadata metadata)
    {
        if (IsLabel(metadata))
        {
            return $"output '{name}' is {Describe(metadata)}: class labels, not scores; the scorer needs the probabilities: name the probabilities output with --output NAME.";
        }

        if (metadata.OnnxValueType == OnnxValueType.ONNX_TYPE_TENSOR && metadata.ElementDataType is TensorElementType.Float or TensorElementType.Double)
        {
            return $"output '{name}' is {Describe(metadata)}; the scorer reads a [batch], [batch, 1] or [batch, classes] output: export the scores in one of those shapes (reshape inside the graph).";
        }

        if (metadata.OnnxValueType == OnnxValueType.ONNX_TYPE_SEQUENCE)
        {
            return $"output '{name}' is {Describe(metadata)}; the scorer reads ZipMap outputs only as a sequence of map(int64 or string, float): export with zipmap=False (skl2onnx: options={{id(model): {{'zipmap': False}}}}) to get a [batch, classes] probabilities tensor.";
        }

        return $"output '{name}' is {Describe(metadata)}; the scorer reads a [batch], [batch, 1] or [batch, classes] float or double tensor, or a ZipMap: export the scores as a float tensor (skl2onnx: options={{id(model): {{'zipmap': False}}}}).";
    }

    private static bool IsLabel(NodeMetadata metadata) =>
        metadata.OnnxValueType == OnnxValueType.ONNX_TYPE_TENSOR
        && metadata.ElementDataType is TensorElementType.Int64 or TensorElementType.Int32 or TensorElementType.String
        && metadata.Dimensions.Length is 1 or 2;

    private static bool IsScore(NodeMetadata metadata)
    {
        switch (metadata.OnnxValueType)
        {
            case OnnxValueType.ONNX_TYPE_TENSOR:
                return metadata.ElementDataType is TensorElementType.Float or TensorElementType.Double && metadata.Dimensions.Length is 1 or 2;
            case OnnxValueType.ONNX_TYPE_SEQUENCE:
                var element = metadata.AsSequenceMetadata().ElementMeta;
                if (element.OnnxValueType != OnnxValueType.ONNX_TYPE_MAP)
                {
                    return false;
                }

                var map = element.AsMapMetadata();
                return map.KeyDataType is TensorElementType.Int64 or TensorElementType.String
                    && map.ValueMetadata.OnnxValueType == OnnxValueType.ONNX_TYPE_TENSOR
                    && map.ValueMetadata.ElementDataType == TensorElementType.Float;
            default:
                return false;
        }
    }

    private static OutputLayout Classify(NodeMetadata metadata) =>
        metadata.OnnxValueType == OnnxValueType.ONNX_TYPE_SEQUENCE ? OutputLayout.ZipMap
        : metadata.Dimensions.Length == 1 ? OutputLayout.Vector
        : OutputLayout.Matrix;
}
