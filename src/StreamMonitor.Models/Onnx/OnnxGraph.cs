namespace StreamMonitor.Models.Onnx;

/// <summary>ONNX tensor element types used here (TensorProto.DataType in onnx.proto).</summary>
public enum OnnxElementType
{
    /// <summary>32-bit IEEE float.</summary>
    Float = 1,
    /// <summary>64-bit signed integer.</summary>
    Int64 = 7,
}

/// <summary>A constant tensor stored in the graph (an initializer): weights, biases, standardisation constants.</summary>
/// <param name="Name">Value name referenced by node inputs.</param>
/// <param name="Dims">Shape.</param>
/// <param name="Data">Row-major float data; its length is the product of <paramref name="Dims"/>.</param>
public sealed record OnnxInitializer(string Name, IReadOnlyList<long> Dims, float[] Data);

/// <summary>A graph input or output: a float tensor whose dimensions are fixed (a value) or symbolic (a name such as "N").</summary>
/// <param name="Name">Value name.</param>
/// <param name="Dims">Each entry is a long (fixed) or a string (symbolic, e.g. the dynamic batch dimension).</param>
public sealed record OnnxValueInfo(string Name, IReadOnlyList<object> Dims);

/// <summary>One operator invocation.</summary>
/// <param name="OpType">Operator name in the default domain (MatMul, Add, Relu, Sigmoid, Sub, Div, Softmax).</param>
/// <param name="Inputs">Input value names.</param>
/// <param name="Outputs">Output value names.</param>
/// <param name="Name">Node name (unique within the graph).</param>
/// <param name="IntAttributes">Integer attributes (e.g. Softmax axis).</param>
public sealed record OnnxNode(string OpType, IReadOnlyList<string> Inputs, IReadOnlyList<string> Outputs, string Name, IReadOnlyDictionary<string, long>? IntAttributes = null);

/// <summary>A whole ONNX model: one graph in the default operator-set domain.</summary>
public sealed class OnnxModel
{
    /// <summary>ONNX IR version 8 (ONNX 1.10+): read by every ONNX Runtime since 1.10.</summary>
    public long IrVersion { get; init; } = 8;

    /// <summary>Default-domain operator set; 13 has every operator used here with its current semantics.</summary>
    public long OpsetVersion { get; init; } = 13;

    /// <summary>Producer name written into the model.</summary>
    public string ProducerName { get; init; } = "streammonitor";

    /// <summary>Producer version written into the model.</summary>
    public string ProducerVersion { get; init; } = "1";

    /// <summary>Model version (an integer in onnx.proto).</summary>
    public long ModelVersion { get; init; } = 1;

    /// <summary>Graph name.</summary>
    public string GraphName { get; init; } = "main";

    /// <summary>Free-text description.</summary>
    public string DocString { get; init; } = "";

    /// <summary>Nodes in topological order.</summary>
    public List<OnnxNode> Nodes { get; } = [];

    /// <summary>Constant tensors.</summary>
    public List<OnnxInitializer> Initializers { get; } = [];

    /// <summary>Graph inputs (not including initializers).</summary>
    public List<OnnxValueInfo> Inputs { get; } = [];

    /// <summary>Graph outputs.</summary>
    public List<OnnxValueInfo> Outputs { get; } = [];

    /// <summary>Key/value metadata (ModelProto.metadata_props).</summary>
    public Dictionary<string, string> Metadata { get; } = new(StringComparer.Ordinal);
}
