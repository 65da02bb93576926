using Google.Protobuf;

namespace StreamMonitor.Models.Onnx;

/// <summary>
/// Serialises an <see cref="OnnxModel"/> as an ONNX ModelProto with Google.Protobuf's <see cref="CodedOutputStream"/>.
/// Field numbers and wire types follow the public onnx.proto (ONNX 1.x); only the messages and fields a dense
/// network needs are written: ModelProto, OperatorSetIdProto, StringStringEntryProto, GraphProto, NodeProto,
/// AttributeProto, TensorProto (raw_data, little-endian), ValueInfoProto, TypeProto.Tensor, TensorShapeProto.
/// </summary>
public static class OnnxProtoWriter
{
    // ModelProto
    private const int ModelIrVersion = 1;
    private const int ModelProducerName = 2;
    private const int ModelProducerVersion = 3;
    private const int ModelModelVersion = 5;
    private const int ModelDocString = 6;
    private const int ModelGraph = 7;
    private const int ModelOpsetImport = 8;
    private const int ModelMetadataProps = 14;

    // OperatorSetIdProto
    private const int OpsetDomain = 1;
    private const int OpsetVersion = 2;

    // StringStringEntryProto
    private const int EntryKey = 1;
    private const int EntryValue = 2;

    // GraphProto
    private const int GraphNode = 1;
    private const int GraphName = 2;
    private const int GraphInitializer = 5;
    private const int GraphInput = 11;
    private const int GraphOutput = 12;

    // NodeProto
    private const int NodeInput = 1;
    private const int NodeOutput = 2;
    private const int NodeName = 3;
    private const int NodeOpType = 4;
    private const int NodeAttribute = 5;

    // AttributeProto
    private const int AttributeName = 1;
    private const int AttributeI = 3;
    private const int AttributeType = 20;
    private const int AttributeTypeInt = 2;

    // TensorProto
    private const int TensorDims = 1;
    private const int TensorDataType = 2;
    private const int TensorName = 8;
    private const int TensorRawData = 9;

    // ValueInfoProto, TypeProto, TypeProto.Tensor, TensorShapeProto, TensorShapeProto.Dimension
    private const int ValueInfoName = 1;
    private const int ValueInfoType = 2;
    private const int TypeTensorType = 1;
    private const int TensorTypeElemType = 1;
    private const int TensorTypeShape = 2;
    private const int ShapeDim = 1;
    private const int DimValue = 1;
    private const int DimParam = 2;

    /// <summary>The model as ModelProto bytes.</summary>
    public static byte[] ToBytes(OnnxModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return Message(o =>
        {
            WriteInt64(o, ModelIrVersion, model.IrVersion);
            WriteString(o, ModelProducerName, model.ProducerName);
            WriteString(o, ModelProducerVersion, model.ProducerVersion);
            WriteInt64(o, ModelModelVersion, model.ModelVersion);
            if (model.DocString.Length > 0)
            {
                WriteString(o, ModelDocString, model.DocString);
            }

            WriteMessage(o, ModelGraph, Graph(model));
            WriteMessage(o, ModelOpsetImport, Message(s =>
            {
                WriteString(s, OpsetDomain, "");
                WriteInt64(s, OpsetVersion, model.OpsetVersion);
            }));
            foreach (var (key, value) in model.Metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                WriteMessage(o, ModelMetadataProps, Message(s =>
                {
                    WriteString(s, EntryKey, key);
                    WriteString(s, EntryValue, value);
                }));
            }
        });
    }

    /// <summary>Writes the model to a file.</summary>
    public static void WriteFile(OnnxModel model, string path) => File.WriteAllBytes(path, ToBytes(model));

    private static byte[] Graph(OnnxModel model) => Message(o =>
    {
        foreach (var node in model.Nodes)
        {
            WriteMessage(o, GraphNode, Node(node));
        }

        WriteString(o, GraphName, model.GraphName);
        foreach (var init in model.Initializers)
        {
            WriteMessage(o, GraphInitializer, Tensor(init));
        }

        foreach (var input in model.Inputs)
        {
            WriteMessage(o, GraphInput, ValueInfo(input));
        }

        foreach (var output in model.Outputs)
        {
            WriteMessage(o, GraphOutput, ValueInfo(output));
        }
    });

    private static byte[] Node(OnnxNode node) => Message(o =>
    {
        foreach (var input in node.Inputs)
        {
            WriteString(o, NodeInput, input);
        }

        foreach (var output in node.Outputs)
        {
            WriteString(o, NodeOutput, output);
        }

        WriteString(o, NodeName, node.Name);
        WriteString(o, NodeOpType, node.OpType);
        foreach (var (name, value) in node.IntAttributes ?? new Dictionary<string, long>())
        {
            WriteMessage(o, NodeAttribute, Message(a =>
            {
                WriteString(a, AttributeName, name);
                WriteInt64(a, AttributeI, value);
                a.WriteTag(AttributeType, WireFormat.WireType.Varint);
                a.WriteEnum(AttributeTypeInt);
            }));
        }
    });

    private static byte[] Tensor(OnnxInitializer tensor)
    {
        var expected = tensor.Dims.Aggregate(1L, (a, d) => a * d);
        if (expected != tensor.Data.Length)
        {
            throw new ArgumentException($"Initializer {tensor.Name}: shape [{string.Join(',', tensor.Dims)}] needs {expected} values, got {tensor.Data.Length}.", nameof(tensor));
        }

        return Message(o =>
        {
            foreach (var dim in tensor.Dims)
            {
                WriteInt64(o, TensorDims, dim);
            }

            o.WriteTag(TensorDataType, WireFormat.WireType.Varint);
            o.WriteInt32((int)OnnxElementType.Float);
            WriteString(o, TensorName, tensor.Name);
            // raw_data is little-endian by the ONNX specification; convert on big-endian hosts.
            var raw = new byte[tensor.Data.Length * sizeof(float)];
            for (var i = 0; i < tensor.Data.Length; i++)
            {
                System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(raw.AsSpan(i * sizeof(float)), tensor.Data[i]);
            }

            o.WriteTag(TensorRawData, WireFormat.WireType.LengthDelimited);
            o.WriteBytes(UnsafeByteOperations.UnsafeWrap(raw));
        });
    }

    private static byte[] ValueInfo(OnnxValueInfo info) => Message(o =>
    {
        WriteString(o, ValueInfoName, info.Name);
        WriteMessage(o, ValueInfoType, Message(t =>
            WriteMessage(t, TypeTensorType, Message(tt =>
            {
                tt.WriteTag(TensorTypeElemType, WireFormat.WireType.Varint);
                tt.WriteInt32((int)OnnxElementType.Float);
                WriteMessage(tt, TensorTypeShape, Message(s =>
                {
                    foreach (var dim in info.Dims)
                    {
                        WriteMessage(s, ShapeDim, Message(d =>
                        {
                            switch (dim)
                            {
                                case long value:
                                    WriteInt64(d, DimValue, value);
                                    break;
                                case int value:
                                    WriteInt64(d, DimValue, value);
                                    break;
                                case string param:
                                    WriteString(d, DimParam, param);
                                    break;
                                default:
                                    throw new ArgumentException($"Dimension of {info.Name} must be a number or a name, got {dim?.GetType().Name ?? "null"}.", nameof(info));
                            }
                        }));
                    }
                }));
            }))));
    });

    private static byte[] Message(Action<CodedOutputStream> write)
    {
        using var buffer = new MemoryStream();
        using (var output = new CodedOutputStream(buffer, leaveOpen: true))
        {
            write(output);
        }

        return buffer.ToArray();
    }

    private static void WriteMessage(CodedOutputStream output, int field, byte[] message)
    {
        output.WriteTag(field, WireFormat.WireType.LengthDelimited);
        output.WriteBytes(UnsafeByteOperations.UnsafeWrap(message));
    }

    private static void WriteString(CodedOutputStream output, int field, string value)
    {
        output.WriteTag(field, WireFormat.WireType.LengthDelimited);
        output.WriteString(value);
    }

    private static void WriteInt64(CodedOutputStream output, int field, long value)
    {
        output.WriteTag(field, WireFormat.WireType.Varint);
        output.WriteInt64(value);
    }
}
