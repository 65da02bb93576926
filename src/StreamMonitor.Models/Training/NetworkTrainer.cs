namespace StreamMonitor.Models.Training;

/// <summary>Hyper-parameters of <see cref="NetworkTrainer"/>.</summary>
public sealed record TrainingSettings
{
    /// <summary>Hidden layer widths; empty gives logistic regression.</summary>
    public IReadOnlyList<int> Hidden { get; init; } = [];

    /// <summary>Passes over the training set.</summary>
    public int Epochs { get; init; } = 200;

    /// <summary>Rows per gradient step.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Adam step size.</summary>
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>L2 penalty on weights (not biases).</summary>
    public double L2 { get; init; } = 1e-4;

    /// <summary>Seed of initialisation and shuffling: equal settings and data give the same weights.</summary>
    public int Seed { get; init; } = 42;
}

/// <summary>
/// Trains a <see cref="DenseNetwork"/> with a sigmoid output on a binary label by minimising binary cross-entropy
/// with mini-batch Adam (Kingma and Ba, 2015), written plainly in float32. Single-threaded and seeded, so training
/// is deterministic. Standardisation constants come from the training rows only.
/// </summary>
public static class NetworkTrainer
{
    private const double Beta1 = 0.9;
    private const double Beta2 = 0.999;
    private const double Epsilon = 1e-8;

    /// <summary>Trains on <paramref name="train"/>; the label must be 0 or 1.</summary>
    public static DenseNetwork Train(Dataset train, TrainingSettings settings, IProgress<(int Epoch, double Loss)>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(settings);
        if (train.Labels.Any(l => l is not (0 or 1)))
        {
            throw new ArgumentException("Labels must be 0 or 1 for a binary classifier.", nameof(train));
        }

        var width = train.FeatureNames.Count;
        var (mean, std) = Standardisation(train);
        var random = new Random(settings.Seed);
        var layers = new List<DenseLayer>();
        var inputs = width;
        foreach (var hidden in settings.Hidden)
        {
            layers.Add(Initialise(new DenseLayer(inputs, hidden, Activation.Relu), random));
            inputs = hidden;
        }

        layers.Add(Initialise(new DenseLayer(inputs, 1, Activation.Sigmoid), random));
        var network = new DenseNetwork(mean, std, layers);

        // Standardised training matrix, computed once with the network's own float arithmetic.
        var x = new float[train.Count * width];
        for (var r = 0; r < train.Count; r++)
        {
            for (var j = 0; j < width; j++)
            {
                x[(r * width) + j] = ((float)train.Rows[r][j] - mean[j]) / std[j];
            }
        }

        var state = layers.Select(l => new AdamState(l)).ToArray();
        var order = Enumerable.Range(0, train.Count).ToArray();
        var batch = Math.Min(settings.BatchSize, train.Count);
        var activations = new float[layers.Count + 1][];
        var deltas = new float[layers.Count][];
        activations[0] = new float[batch * width];
        for (var i = 0; i < layers.Count; i++)
        {
            activations[i + 1] = new float[batch * layers[i].Outputs];
            deltas[i] = new float[batch * layers[i].Outputs];
        }

        long step = 0;
        for (var epoch = 1; epoch <= settings.Epochs; epoch++)
        {
            random.Shuffle(order);
            double lossSum = 0;
            for (var start = 0; start < order.Length; start += batch)
            {
                var rows = Math.Min(batch, order.Length - start);
                for (var r = 0; r < rows; r++)
                {
                    x.AsSpan(order[start + r] * width, width).CopyTo(activations[0].AsSpan(r * width));
                }

                for (var i = 0; i < layers.Count; i++)
                {
                    DenseNetwork.Affine(activations[i], rows, layers[i], activations[i + 1]);
                    DenseNetwork.Activate(activations[i + 1].AsSpan(0, rows * layers[i].Outputs), layers[i].Activation);
                }

                // Sigmoid + cross-entropy: dL/dz = p - y, averaged over the batch.
                var output = activations[^1];
                for (var r = 0; r < rows; r++)
                {
                    var p = output[r];
                    var y = (float)train.Labels[order[start + r]];
                    lossSum -= (y * Math.Log(Math.Max(p, 1e-7))) + ((1 - y) * Math.Log(Math.Max(1 - p, 1e-7)));
                    deltas[^1][r] = (p - y) / rows;
                }

                step++;
                for (var i = layers.Count - 1; i >= 0; i--)
                {
                    var layer = layers[i];
                    var s = state[i];
                    Array.Clear(s.GradW);
                    Array.Clear(s.GradB);
                    for (var r = 0; r < rows; r++)
                    {
                        var delta = deltas[i].AsSpan(r * layer.Outputs, layer.Outputs);
                        for (var k = 0; k < layer.Inputs; k++)
                        {
                            var a = activations[i][(r * layer.Inputs) + k];
                            if (a != 0f)
                            {
                                DenseNetwork.Axpy(a, delta, s.GradW.AsSpan(k * layer.Outputs, layer.Outputs));
                            }
                        }

                        DenseNetwork.Axpy(1f, delta, s.GradB);
                    }

                    if (i > 0)
                    {
                        // Back through W, then through the previous layer's ReLU.
                        for (var r = 0; r < rows; r++)
                        {
                            var delta = deltas[i].AsSpan(r * layer.Outputs, layer.Outputs);
                            for (var k = 0; k < layer.Inputs; k++)
                            {
                                var a = activations[i][(r * layer.Inputs) + k];
                                deltas[i - 1][(r * layer.Inputs) + k] = a > 0f ? DenseNetwork.Dot(delta, layer.Weights.AsSpan(k * layer.Outputs, layer.Outputs)) : 0f;
                            }
                        }
                    }

                    s.Apply(layer, settings.LearningRate, settings.L2, step);
                }
            }

            progress?.Report((epoch, lossSum / order.Length));
        }

        return network;
    }

    /// <summary>Accuracy of thresholded probabilities against 0/1 labels.</summary>
    public static double Accuracy(DenseNetwork network, Dataset data, double threshold = 0.5)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(data);
        var probabilities = network.Forward(ToFloatMatrix(data), data.Count);
        var correct = 0;
        for (var r = 0; r < data.Count; r++)
        {
            var predicted = probabilities[r] >= threshold ? 1.0 : 0.0;
            if (predicted == data.Labels[r])
            {
                correct++;
            }
        }

        return (double)correct / data.Count;
    }

    /// <summary>The rows as one row-major float32 matrix.</summary>
    public static float[] ToFloatMatrix(Dataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        var width = data.FeatureNames.Count;
        var matrix = new float[data.Count * width];
        for (var r = 0; r < data.Count; r++)
        {
            for (var j = 0; j < width; j++)
            {
                matrix[(r * width) + j] = (float)data.Rows[r][j];
            }
        }

        return matrix;
    }

    private static (float[] Mean, float[] Std) Standardisation(Dataset train)
    {
        var width = train.FeatureNames.Count;
        var mean = new float[width];
        var std = new float[width];
        for (var j = 0; j < width; j++)
        {
            double sum = 0, sumSq = 0;
            foreach (var row in train.Rows)
            {
                sum += row[j];
            }

            var m = sum / train.Count;
            foreach (var row in train.Rows)
            {
                sumSq += (row[j] - m) * (row[j] - m);
            }

            var s = Math.Sqrt(sumSq / train.Count);
            mean[j] = (float)m;
            std[j] = s > 1e-12 ? (float)s : 1f; // A constant column is passed through centred, not divided by zero.
        }

        return (mean, std);
    }

    /// <summary>He-uniform initialisation (suits ReLU; harmless for the sigmoid output).</summary>
    private static DenseLayer Initialise(DenseLayer layer, Random random)
    {
        var limit = Math.Sqrt(6.0 / layer.Inputs);
        for (var i = 0; i < layer.Weights.Length; i++)
        {
            layer.Weights[i] = (float)(((random.NextDouble() * 2) - 1) * limit);
        }

        return layer;
    }

    private sealed class AdamState(DenseLayer layer)
    {
        private readonly float[] _mW = new float[layer.Weights.Length];
        private readonly float[] _vW = new float[layer.Weights.Length];
        private readonly float[] _mB = new float[layer.Bias.Length];
        private readonly float[] _vB = new float[layer.Bias.Length];

        public float[] GradW { get; } = new float[layer.Weights.Length];

        public float[] GradB { get; } = new float[layer.Bias.Length];

        public void Apply(DenseLayer target, double learningRate, double l2, long step)
        {
            var correction1 = 1 - Math.Pow(Beta1, step);
            var correction2 = 1 - Math.Pow(Beta2, step);
            var alpha = (float)(learningRate * Math.Sqrt(correction2) / correction1);
            Update(target.Weights, GradW, _mW, _vW, alpha, (float)l2);
            Update(target.Bias, GradB, _mB, _vB, alpha, 0f);
        }

        private static void Update(float[] parameters, float[] gradient, float[] m, float[] v, float alpha, float l2)
        {
            for (var i = 0; i < parameters.Length; i++)
            {
                var g = gradient[i] + (l2 * parameters[i]);
                m[i] = (float)((Beta1 * m[i]) + ((1 - Beta1) * g));
                v[i] = (float)((Beta2 * v[i]) + ((1 - Beta2) * g * g));
                parameters[i] -= alpha * m[i] / (MathF.Sqrt(v[i]) + (float)Epsilon);
            }
        }
    }
}
