using StreamMonitor.Contracts.Validation;

namespace StreamMonitor.Contracts;

/// <summary>
/// A model and version, the per-model part of a window's identity. Its text form <c>name|version</c> keys the
/// aggregator's window tables; <see cref="Identifiers.CheckModel"/> refuses names and versions containing the
/// separator at the source, so the text form is never ambiguous.
/// </summary>
/// <param name="Name">Model name.</param>
/// <param name="Version">Model version, or <see cref="AllVersionsValue"/> for results over every version.</param>
public readonly record struct ModelKey(string Name, string Version)
{
    /// <summary>The version of results that cover every version of a model (feature and score drift).</summary>
    public const string AllVersionsValue = "all";

    /// <summary>The key of results over every version of <paramref name="name"/>.</summary>
    public static ModelKey AllVersions(string name) => new(name, AllVersionsValue);

    /// <summary>The text form, <c>name|version</c>.</summary>
    public override string ToString() => string.Concat(Name, Identifiers.KeySeparatorText, Version);

    /// <summary>Parses the text form written by <see cref="ToString"/>.</summary>
    /// <exception cref="FormatException">The text has no separator.</exception>
    public static ModelKey Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var separator = text.IndexOf(Identifiers.KeySeparator, StringComparison.Ordinal);
        return separator < 0
            ? throw new FormatException($"Not a model key (name{Identifiers.KeySeparator}version): '{text}'.")
            : new ModelKey(text[..separator], text[(separator + 1)..]);
    }

    /// <summary>The window key of this model's window of <paramref name="kind"/>.</summary>
    public WindowKey Window(WindowKind kind, long windowStartMs, long windowSizeMs) => new(kind, Name, Version, windowStartMs, windowSizeMs);
}
