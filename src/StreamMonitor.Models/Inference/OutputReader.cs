using StreamMonitor.Contracts;
using StreamMonitor.Models.Store;

namespace StreamMonitor.Models.Inference;

/// <summary>Turns one output row of a model into the answer fields of a <see cref="Prediction"/>.</summary>
public static class OutputReader
{
    /// <summary>Sets score, predicted class and probabilities from <paramref name="output"/> as the manifest defines it.</summary>
    public static void Apply(ModelManifest manifest, ReadOnlySpan<float> output, Prediction prediction)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(prediction);
        prediction.OutputKind = manifest.OutputKind;
        switch (manifest.OutputKind)
        {
            case OutputKind.BINARY_PROBABILITY:
                // Width 1: P(class 1). Width 2: [P(class 0), P(class 1)].
                var p = output.Length == 1 ? output[0] : output[1];
                prediction.Score = p;
                prediction.PredictedClass = p >= manifest.DecisionThreshold ? 1 : 0;
                break;
            case OutputKind.MULTICLASS_PROBABILITIES:
                var best = 0;
                for (var k = 0; k < output.Length; k++)
                {
                    prediction.Probabilities.Add(output[k]);
                    if (output[k] > output[best])
                    {
                        best = k;
                    }
                }

                prediction.Score = output[best];
                prediction.PredictedClass = best;
                break;
            case OutputKind.REGRESSION:
                prediction.Score = output[0];
                break;
            default:
                throw new InvalidDataException($"Unknown output kind {manifest.OutputKind}.");
        }
    }
}
