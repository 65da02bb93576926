using Microsoft.ML.OnnxRuntime;
using StreamMonitor.Contracts;
using StreamMonitor.Models.Store;

namespace StreamMonitor.Models.Inference;

/// <summary>Whether a graph can be served with its manifest: the check every <see cref="ModelSession"/> passes at load.</summary>
public static class ManifestCheck
{
    /// <summary>
    /// Reads the signature of <paramref name="session"/> at the manifest's input and output names and checks that
    /// the manifest describes it: feature count, output width, output kind, class names, feature means.
    /// </summary>
    /// <exception cref="InvalidDataException">They disagree, or the graph cannot be served; the message names the model and the fix.</exception>
    public static ModelSignature Check(ModelManifest manifest, InferenceSession session)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(session);
        var subject = $"{manifest.Name} {manifest.Version}";
        ModelSignature signature;
        try
        {
            signature = ModelSignature.Read(session, manifest.InputName, manifest.OutputName);
        }
        catch (InvalidDataException ex)
        {
            throw new InvalidDataException($"{subject}: {ex.Message}", ex);
        }

        string? problem = null;
        var width = manifest.OutputWidth;
        if (manifest.Features.Count == 0)
        {
            problem = "model.json lists no features";
        }
        else if (signature.InputColumns > 0 && signature.InputColumns != manifest.Features.Count)
        {
            problem = $"input '{signature.InputName}' is {signature.InputDescription} but model.json lists {manifest.Features.Count} features";
        }
        else if (manifest.FeatureMeans.Count != 0 && manifest.FeatureMeans.Count != manifest.Features.Count)
        {
            problem = $"model.json has {manifest.FeatureMeans.Count} feature means for {manifest.Features.Count} features";
        }
        else if (signature.Layout != OutputLayout.ZipMap && signature.OutputWidth != width)
        {
            problem = $"output '{signature.OutputName}' is {signature.OutputDescription} but model.json says output_width {width}";
        }
        else if (signature.Layout == OutputLayout.ZipMap && (manifest.ClassNames.Count != width || width < 2))
        {
            problem = $"output '{signature.OutputName}' is a ZipMap ({signature.OutputDescription}): model.json must list its keys as class_names, one per output column (output_width {width}); register the model with streammon models add";
        }
        else if (manifest.OutputKind == OutputKind.BINARY_PROBABILITY && width is not (1 or 2))
        {
            problem = $"a binary model reads one column (P(1)) or two ([P(0), P(1)]), but the output has {width}; register it as multiclass";
        }
        else if (manifest.OutputKind == OutputKind.MULTICLASS_PROBABILITIES && width < 2)
        {
            problem = "a multiclass model needs one output column per class, but the output has 1; register it as binary or regression";
        }
        else if (manifest.OutputKind == OutputKind.REGRESSION && (width != 1 || manifest.Logits))
        {
            problem = $"a regression model reads one value per row{(manifest.Logits ? " and takes no logits flag" : $", but the output has {width}")}";
        }
        else if (manifest.ClassNames.Distinct(StringComparer.Ordinal).Count() != manifest.ClassNames.Count)
        {
            problem = $"model.json's class_names ({string.Join(',', manifest.ClassNames)}) repeat a name";
        }
        else if (manifest.ClassNames.Count != 0 && (manifest.OutputKind == OutputKind.REGRESSION || manifest.ClassNames.Count != Math.Max(width, 2)))
        {
            problem = manifest.OutputKind == OutputKind.REGRESSION
                ? "a regression model has no classes, but model.json lists class_names"
                : $"model.json lists {manifest.ClassNames.Count} class names for {Math.Max(width, 2)} classes";
        }
        else if (manifest.OutputKind == OutputKind.BINARY_PROBABILITY && manifest.DecisionThreshold is not (>= 0 and <= 1))
        {
            problem = $"decision_threshold {manifest.DecisionThreshold} is not a probability";
        }

        return problem is null ? signature : throw new InvalidDataException($"{subject}: {problem}.");
    }
}
