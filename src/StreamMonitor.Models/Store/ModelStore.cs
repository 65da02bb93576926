using System.Globalization;
using System.Security.Cryptography;

namespace StreamMonitor.Models.Store;

/// <summary>A model version read from the store: its manifest, the exact model.onnx bytes and their SHA-256.</summary>
/// <param name="Manifest">Parsed model.json.</param>
/// <param name="OnnxBytes">model.onnx as read (the hash is of these bytes).</param>
/// <param name="Sha256">Lower-case hex SHA-256 of <paramref name="OnnxBytes"/>.</param>
/// <param name="Directory">Version folder.</param>
public sealed record StoredModel(ModelManifest Manifest, byte[] OnnxBytes, string Sha256, string Directory);

/// <summary>
/// The on-disk model store: <c>root/name/version/{model.onnx, model.json}</c>. A version is written into a hidden
/// temporary folder and renamed into place, so a watcher never sees half a model: a version folder exists only
/// once both files are complete.
/// </summary>
public sealed class ModelStore
{
    /// <summary>Model file name inside a version folder.</summary>
    public const string OnnxFileName = "model.onnx";

    /// <summary>Manifest file name inside a version folder.</summary>
    public const string ManifestFileName = "model.json";

    /// <summary>Opens (without creating) a store at <paramref name="root"/>.</summary>
    public ModelStore(string root)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        Root = Path.GetFullPath(root);
    }

    /// <summary>Absolute store root.</summary>
    public string Root { get; }

    /// <summary>Model names present in the store.</summary>
    public IReadOnlyList<string> ModelNames() =>
        Directory.Exists(Root)
            ? Directory.EnumerateDirectories(Root).Select(Path.GetFileName).OfType<string>().Where(n => !n.StartsWith('.')).Order(StringComparer.Ordinal).ToArray()
            : [];

    /// <summary>Complete versions of a model, oldest first (numeric versions numerically, others ordinally after).</summary>
    public IReadOnlyList<string> Versions(string name)
    {
        var folder = Path.Combine(Root, name);
        if (!Directory.Exists(folder))
        {
            return [];
        }

        return Directory.EnumerateDirectories(folder)
            .Where(d => File.Exists(Path.Combine(d, OnnxFileName)) && File.Exists(Path.Combine(d, ManifestFileName)))
            .Select(Path.GetFileName)
            .OfType<string>()
            .Where(v => !v.StartsWith('.'))
            .Order(VersionComparer.Instance)
            .ToArray();
    }

    /// <summary>The newest complete version, or null when the model has none.</summary>
    public string? LatestVersion(string name)
    {
        var versions = Versions(name);
        return versions.Count == 0 ? null : versions[^1];
    }

    /// <summary>Folder of a version.</summary>
    public string VersionDirectory(string name, string version) => Path.Combine(Root, name, version);

    /// <summary>Reads a version; the hash is computed from the bytes read, not trusted from the manifest.</summary>
    public StoredModel Load(string name, string version)
    {
        var folder = VersionDirectory(name, version);
        var manifest = ModelManifest.FromJson(File.ReadAllText(Path.Combine(folder, ManifestFileName)));
        if (!string.Equals(manifest.Name, name, StringComparison.Ordinal) || !string.Equals(manifest.Version, version, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"{folder}/{ManifestFileName} names {manifest.Name}/{manifest.Version}, not {name}/{version}.");
        }

        var bytes = File.ReadAllBytes(Path.Combine(folder, OnnxFileName));
        return new StoredModel(manifest, bytes, Sha256Hex(bytes), folder);
    }

    /// <summary>
    /// Writes a version atomically; extra files (e.g. the data splits) go beside the model. Fails if the version
    /// exists unless <paramref name="overwrite"/>.
    /// </summary>
    public string Save(ModelManifest manifest, byte[] onnx, IReadOnlyDictionary<string, string>? extraTextFiles = null, bool overwrite = false)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(onnx);
        var modelFolder = Path.Combine(Root, manifest.Name);
        Directory.CreateDirectory(modelFolder);
        var target = Path.Combine(modelFolder, manifest.Version);
        if (Directory.Exists(target) && !overwrite)
        {
            throw new IOException($"{target} already exists; pass overwrite to replace it.");
        }

        var staging = Path.Combine(modelFolder, ".incoming-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(staging);
        File.WriteAllBytes(Path.Combine(staging, OnnxFileName), onnx);
        foreach (var (fileName, content) in extraTextFiles ?? new Dictionary<string, string>())
        {
            File.WriteAllText(Path.Combine(staging, fileName), content);
        }

        File.WriteAllText(Path.Combine(staging, ManifestFileName), (manifest with { OnnxSha256 = Sha256Hex(onnx) }).ToJson());
        if (Directory.Exists(target))
        {
            Directory.Delete(target, recursive: true);
        }

        Directory.Move(staging, target);
        return target;
    }

    /// <summary>Lower-case hex SHA-256.</summary>
    public static string Sha256Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>Orders versions: integers numerically, then other names ordinally.</summary>
    public sealed class VersionComparer : IComparer<string>
    {
        /// <summary>The comparer.</summary>
        public static readonly VersionComparer Instance = new();

        /// <inheritdoc />
        public int Compare(string? x, string? y)
        {
            var xNumeric = long.TryParse(x, NumberStyles.None, CultureInfo.InvariantCulture, out var xv);
            var yNumeric = long.TryParse(y, NumberStyles.None, CultureInfo.InvariantCulture, out var yv);
            return (xNumeric, yNumeric) switch
            {
                (true, true) => xv.CompareTo(yv),
                (true, false) => -1,
                (false, true) => 1,
                _ => string.CompareOrdinal(x, y),
            };
        }
    }
}
