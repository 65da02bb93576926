using System.Globalization;
using System.Numerics;
using StreamMonitor.Models.Onnx;

namespace StreamMonitor.Models.Training;

/// <summary>Activation applied after a dense layer.</summary>
public enum Activation
{
    /// <summary>Identity (regression output).</summary>
    None,
    /// <summary>max(0, x).</summary>
    Relu,
    /// <summary>1 / (1 + e^-x): binary probability output.</summary>
    Sigmoid,
}

/// <summary>One fully connected layer: y = act(x W + b), W stored row-major as [inputs, outputs].</summary>
public sealed class DenseLayer
{
    /// <summary>Creates a layer with zero weights.</summary>
    public DenseLayer(int inputs, int outputs, Activation activation)
    {
        Inputs = inputs;
        Outputs = outputs;
        Activation = activation;
        Weights = new float[inputs * outputs];
        Bias = new float[outputs];
    }

    /// <summary>Input width.</summary>
    public int Inputs { get; }

    /// <summary>Output width.</summary>
    public int Outputs { get; }

    /// <summary>Activation after the affine map.</summary>
    public Activation Activation { get; }

    /// <summary>Row-major [Inputs, Outputs].</summary>
    public float[] Weights { get; }

    /// <summary>[Outputs].</summary>
    public float[] Bias { get; }
}

/// <summary>
/// A standardised feed-forward network: z = (x - mean) / std, then dense layers. Logistic regression is the case
/// with no hidden layer. <see cref="Forward"/> computes in float32 exactly the operations <see cref="ToOnnx"/>
/// exports (Sub, Div, MatMul, Add, Relu, Sigmoid), which is what the equivalence test compares.
/// </summary>
public sealed class DenseNetwork
{
    /// <summary>Creates a network over standardisation constants and layers.</summary>
    public DenseNetwork(float[] mean, float[] std, IReadOnlyList<DenseLayer> layers)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(std);
        ArgumentNullException.ThrowIfNull(layers);
        if (layers.Count == 0 || mean.Length != std.Length || layers[0].Inputs != mean.Length)
        {
            throw new ArgumentException("Layers must start at the width of the standardisation constants.", nameof(layers));
        }

        for (var i = 1; i < layers.Count; i++)
        {
            if (layers[i].Inputs != layers[i - 1].Outputs)
            {
                throw new ArgumentException($"Layer {i} takes {layers[i].Inputs} inputs but layer {i - 1} gives {layers[i - 1].Outputs}.", nameof(layers));
            }
        }

        Mean = mean;
        Std = std;
        Layers = layers;
    }

    /// <summary>Per-feature training mean.</summary>
    public float[] Mean { get; }

    /// <summary>Per-feature training standard deviation (never zero).</summary>
    public float[] Std { get; }

    /// <summary>Dense layers, input first.</summary>
    public IReadOnlyList<DenseLayer> Layers { get; }

    /// <summary>Input width.</summary>
    public int InputWidth => Mean.Length;

    /// <summary>Output width.</summary>
    public int OutputWidth => Layers[^1].Outputs;

    /// <summary>Forward pass over <paramref name="rows"/> rows laid out row-major in <paramref name="input"/>.</summary>
    public float[] Forward(ReadOnlySpan<float> input, int rows)
    {
        var current = new float[rows * InputWidth];
        for (var r = 0; r < rows; r++)
        {
            for (var j = 0; j < InputWidth; j++)
            {
                current[(r * InputWidth) + j] = (input[(r * InputWidth) + j] - Mean[j]) / Std[j];
            }
        }

        foreach (var layer in Layers)
        {
            var next = new float[rows * layer.Outputs];
            Affine(current, rows, layer, next);
            Activate(next, layer.Activation);
            current = next;
        }

        return current;
    }

    /// <summary>next = current W + b, row by row (rows of W are added with SIMD axpy).</summary>
    internal static void Affine(float[] current, int rows, DenseLayer layer, float[] next)
    {
        for (var r = 0; r < rows; r++)
        {
            var output = next.AsSpan(r * layer.Outputs, layer.Outputs);
            output.Clear();
            for (var k = 0; k < layer.Inputs; k++)
            {
                var a = current[(r * layer.Inputs) + k];
                if (a != 0f)
                {
                    Axpy(a, layer.Weights.AsSpan(k * layer.Outputs, layer.Outputs), output);
                }
            }

            for (var j = 0; j < layer.Outputs; j++)
            {
                output[j] += layer.Bias[j];
            }
        }
    }

    /// <summary>Applies an activation in place.</summary>
    internal static void Activate(Span<float> values, Activation activation)
    {
        switch (activation)
        {
            case Activation.Relu:
                for (var i = 0; i < values.Length; i++)
                {
                    values[i] = MathF.Max(values[i], 0f);
                }

                break;
            case Activation.Sigmoid:
                for (var i = 0; i < values.Length; i++)
                {
                    values[i] = 1f / (1f + MathF.Exp(-values[i]));
                }

                break;
            case Activation.None:
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(activation), activation, null);
        }
    }

    /// <summary>y += a x.</summary>
    internal static void Axpy(float a, ReadOnlySpan<float> x, Span<float> y)
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated && x.Length >= Vector<float>.Count)
        {
            var va = new Vector<float>(a);
            for (; i <= x.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                var vy = new Vector<float>(y[i..]);
                (vy + (va * new Vector<float>(x[i..]))).CopyTo(y[i..]);
            }
        }

        for (; i < x.Length; i++)
        {
            y[i] += a * x[i];
        }
    }

    /// <summary>Dot product.</summary>
    internal static float Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        var i = 0;
        var sum = 0f;
        if (Vector.IsHardwareAccelerated && x.Length >= Vector<float>.Count)
        {
            var acc = Vector<float>.Zero;
            for (; i <= x.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                acc += new Vector<float>(x[i..]) * new Vector<float>(y[i..]);
            }

            sum = Vector.Sum(acc);
        }

        for (; i < x.Length; i++)
        {
            sum += x[i] * y[i];
        }

        return sum;
    }

    /// <summary>
    /// Exports the network as ONNX (opset 13): input <paramref name="inputName"/> [N, features] float, output
    /// <paramref name="outputName"/> [N, outputs] float, N symbolic so any batch size runs.
    /// </summary>
    public OnnxModel ToOnnx(string inputName, string outputName, long modelVersion, string docString)
    {
        var model = new OnnxModel { ModelVersion = modelVersion, DocString = docString, GraphName = "dense_network" };
        model.Inputs.Add(new OnnxValueInfo(inputName, ["N", (long)InputWidth]));
        model.Outputs.Add(new OnnxValueInfo(outputName, ["N", (long)OutputWidth]));
        model.Initializers.Add(new OnnxInitializer("standardize_mean", [InputWidth], Mean));
        model.Initializers.Add(new OnnxInitializer("standardize_std", [InputWidth], Std));
        model.Nodes.Add(new OnnxNode("Sub", [inputName, "standardize_mean"], ["centered"], "standardize_sub"));
        model.Nodes.Add(new OnnxNode("Div", ["centered", "standardize_std"], ["z0"], "standardize_div"));
        var current = "z0";
        for (var i = 0; i < Layers.Count; i++)
        {
            var layer = Layers[i];
            var id = i.ToString(CultureInfo.InvariantCulture);
            model.Initializers.Add(new OnnxInitializer($"W{id}", [layer.Inputs, layer.Outputs], layer.Weights));
            model.Initializers.Add(new OnnxInitializer($"b{id}", [layer.Outputs], layer.Bias));
            model.Nodes.Add(new OnnxNode("MatMul", [current, $"W{id}"], [$"mm{id}"], $"matmul{id}"));
            var last = i == Layers.Count - 1;
            var affine = last && layer.Activation == Activation.None ? outputName : $"affine{id}";
            model.Nodes.Add(new OnnxNode("Add", [$"mm{id}", $"b{id}"], [affine], $"add{id}"));
            current = affine;
            if (layer.Activation != Activation.None)
            {
                var activated = last ? outputName : $"h{id}";
                model.Nodes.Add(new OnnxNode(layer.Activation == Activation.Relu ? "Relu" : "Sigmoid", [affine], [activated], $"act{id}"));
                current = activated;
            }
        }

        return model;
    }
}
