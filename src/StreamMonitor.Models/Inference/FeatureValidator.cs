using StreamMonitor.Contracts;
using StreamMonitor.Contracts.Validation;
using StreamMonitor.Models.Store;

namespace StreamMonitor.Models.Inference;

/// <summary>What to do with a null, NaN or infinite feature value.</summary>
public enum NonFinitePolicy
{
    /// <summary>The event is an error (VALIDATION_NULL_VALUE or VALIDATION_NON_FINITE) and goes to the dead-letter topic.</summary>
    Reject,
    /// <summary>The value is replaced by the feature's training mean.</summary>
    ImputeMean,
}

/// <summary>A validation failure: stable code and human-readable detail.</summary>
/// <param name="Code">One of <see cref="ReasonCodes"/>.</param>
/// <param name="Detail">Which feature and why.</param>
public sealed record ValidationError(string Code, string Detail)
{
    /// <summary>"CODE: detail", as written into Prediction.error_reason.</summary>
    public override string ToString() => $"{Code}: {Detail}";
}

/// <summary>
/// Checks an event against a model's manifest and writes its features, in input-tensor column order, straight
/// into a row of the pinned input buffer. Categorical values that are not model features are monitoring-only
/// data and are ignored; a categorical value under a model feature's name is a wrong type.
/// </summary>
public sealed class FeatureValidator
{
    private readonly IReadOnlyList<string> _features;
    private readonly HashSet<string> _known;
    private readonly float[] _means;

    /// <summary>Creates a validator for a model version.</summary>
    public FeatureValidator(ModelManifest manifest, NonFinitePolicy policy, bool rejectExtraFeatures)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        _features = manifest.Features;
        _known = new HashSet<string>(manifest.Features, StringComparer.Ordinal);
        _means = manifest.FeatureMeans.Select(m => (float)m).ToArray();
        Policy = policy;
        RejectExtraFeatures = rejectExtraFeatures;
    }

    /// <summary>Null/NaN/Inf handling.</summary>
    public NonFinitePolicy Policy { get; }

    /// <summary>Whether unknown numeric features are an error.</summary>
    public bool RejectExtraFeatures { get; }

    /// <summary>Validates and fills <paramref name="row"/>; returns null when the event can be scored.</summary>
    public ValidationError? Fill(FeatureEvent featureEvent, Span<float> row)
    {
        ArgumentNullException.ThrowIfNull(featureEvent);
        var features = featureEvent.Features;
        for (var j = 0; j < _features.Count; j++)
        {
            var name = _features[j];
            if (!features.TryGetValue(name, out var value))
            {
                return featureEvent.Categorical.ContainsKey(name)
                    ? new ValidationError(ReasonCodes.WrongType, $"feature '{name}' is numeric but arrived as a categorical value")
                    : new ValidationError(ReasonCodes.MissingFeature, $"feature '{name}' is missing");
            }

            if (value is not { } v)
            {
                if (Policy == NonFinitePolicy.Reject)
                {
                    return new ValidationError(ReasonCodes.NullValue, $"feature '{name}' is null");
                }

                row[j] = _means[j];
                continue;
            }

            if (!double.IsFinite(v))
            {
                if (Policy == NonFinitePolicy.Reject)
                {
                    return new ValidationError(ReasonCodes.NonFinite, $"feature '{name}' is {v}");
                }

                row[j] = _means[j];
                continue;
            }

            var f = (float)v;
            if (!float.IsFinite(f))
            {
                return new ValidationError(ReasonCodes.OutOfRange, $"feature '{name}' = {v} overflows float32");
            }

            row[j] = f;
        }

        if (RejectExtraFeatures && features.Count > _features.Count)
        {
            foreach (var name in features.Keys)
            {
                if (!_known.Contains(name))
                {
                    return new ValidationError(ReasonCodes.ExtraFeature, $"feature '{name}' is not an input of the model");
                }
            }
        }

        return null;
    }
}
