using System.Numerics;
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
/// into a row of the pinned input buffer (float32, or float64 for a model with a double input: each value is
/// written once, in the input's type). Categorical values that are not model features are monitoring-only data
/// and are ignored; a categorical value under a model feature's name is a wrong type.
/// </summary>
public sealed class FeatureValidator
{
    private readonly IReadOnlyList<string> _features;
    private readonly HashSet<string> _known;
    private readonly double[] _means;

    /// <summary>Creates a validator for a model version.</summary>
    /// <exception cref="InvalidDataException">
    /// <paramref name="policy"/> is <see cref="NonFinitePolicy.ImputeMean"/> and the manifest has no feature means
    /// (a model registered without data).
    /// </exception>
    public FeatureValidator(ModelManifest manifest, NonFinitePolicy policy, bool rejectExtraFeatures)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        if (policy == NonFinitePolicy.ImputeMean && manifest.FeatureMeans.Count != manifest.Features.Count)
        {
            throw new InvalidDataException($"{manifest.Name} {manifest.Version} has no feature means (registered without --features-from), so the ImputeMean policy has nothing to impute: "
                + "register it again with --features-from DATA.csv, or use the Reject policy.");
        }

        _features = manifest.Features;
        _known = new HashSet<string>(manifest.Features, StringComparer.Ordinal);
        _means = manifest.FeatureMeans.ToArray();
        Policy = policy;
        RejectExtraFeatures = rejectExtraFeatures;
    }

    /// <summary>Null/NaN/Inf handling.</summary>
    public NonFinitePolicy Policy { get; }

    /// <summary>Whether unknown numeric features are an error.</summary>
    public bool RejectExtraFeatures { get; }

    /// <summary>Validates and fills row <paramref name="row"/> of <paramref name="session"/>'s input, in the input's element type; null when the event can be scored.</summary>
    public ValidationError? Fill(FeatureEvent featureEvent, ModelSession session, int row)
    {
        ArgumentNullException.ThrowIfNull(session);
        return session.InputIsDouble ? Fill(featureEvent, session.InputRowDouble(row)) : Fill(featureEvent, session.InputRow(row));
    }

    /// <summary>Validates and fills a float32 <paramref name="row"/>; returns null when the event can be scored.</summary>
    public ValidationError? Fill(FeatureEvent featureEvent, Span<float> row) => FillRow(featureEvent, row);

    /// <summary>Validates and fills a float64 <paramref name="row"/>; returns null when the event can be scored.</summary>
    public ValidationError? Fill(FeatureEvent featureEvent, Span<double> row) => FillRow(featureEvent, row);

    private ValidationError? FillRow<T>(FeatureEvent featureEvent, Span<T> row)
        where T : struct, IFloatingPointIeee754<T>
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

                row[j] = T.CreateTruncating(_means[j]);
                continue;
            }

            if (!double.IsFinite(v))
            {
                if (Policy == NonFinitePolicy.Reject)
                {
                    return new ValidationError(ReasonCodes.NonFinite, $"feature '{name}' is {v}");
                }

                row[j] = T.CreateTruncating(_means[j]);
                continue;
            }

            // Only a float32 input can overflow: a finite double is a finite float64 input value.
            var x = T.CreateTruncating(v);
            if (!T.IsFinite(x))
            {
                return new ValidationError(ReasonCodes.OutOfRange, $"feature '{name}' = {v} overflows float32");
            }

            row[j] = x;
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
