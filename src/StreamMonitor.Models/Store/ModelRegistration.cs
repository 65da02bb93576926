using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.ML.OnnxRuntime;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.Validation;
using StreamMonitor.Models.Inference;

namespace StreamMonitor.Models.Store;

/// <summary>What `streammon models add` registers: an ONNX file exported elsewhere, and what the graph cannot say.</summary>
public sealed record ModelRegistrationRequest
{
    /// <summary>The .onnx file.</summary>
    public required string OnnxPath { get; init; }

    /// <summary>Model store root.</summary>
    public required string StoreRoot { get; init; }

    /// <summary>Model name (FeatureEvent.model_name).</summary>
    public required string Name { get; init; }

    /// <summary>Version; null: one more than the newest numeric version (1 for a new model).</summary>
    public string? Version { get; init; }

    /// <summary>Feature names in input column order; null: the feature columns of <see cref="FeaturesFrom"/>.</summary>
    public IReadOnlyList<string>? Features { get; init; }

    /// <summary>
    /// A CSV (header row) whose feature columns name the features, when <see cref="Features"/> is null, and whose
    /// values give the feature means the ImputeMean policy needs. Columns event_id, entity_id, model_name,
    /// event_time_ms and <see cref="LabelColumn"/> are not features (as for `streammon score`).
    /// </summary>
    public string? FeaturesFrom { get; init; }

    /// <summary>Label column of <see cref="FeaturesFrom"/>.</summary>
    public string LabelColumn { get; init; } = "label";

    /// <summary>Input to feed; null: the model's only input.</summary>
    public string? InputName { get; init; }

    /// <summary>Output to read; null: the only probabilities or score output.</summary>
    public string? OutputName { get; init; }

    /// <summary>What the output means; null: detected from its shape when that is unambiguous.</summary>
    public OutputKind? Kind { get; init; }

    /// <summary>Whether the output holds logits (sigmoid or softmax applied by the scorer).</summary>
    public bool Logits { get; init; }

    /// <summary>Binary models: probability at or above which the predicted class is 1; null: 0.5.</summary>
    public double? DecisionThreshold { get; init; }

    /// <summary>Class names in output column order (for a ZipMap: its keys, in the order wanted); null: none, or a ZipMap's keys.</summary>
    public IReadOnlyList<string>? ClassNames { get; init; }

    /// <summary>Replace an existing version.</summary>
    public bool Overwrite { get; init; }
}

/// <summary>A registered model version.</summary>
/// <param name="Manifest">The model.json written (hash included).</param>
/// <param name="Signature">The input and output the scorer feeds and reads.</param>
/// <param name="Directory">The version folder.</param>
/// <param name="MeanRows">Rows of the CSV the feature means come from (0: no means).</param>
public sealed record ModelRegistrationResult(ModelManifest Manifest, ModelSignature Signature, string Directory, long MeanRows);

/// <summary>
/// Registers an existing ONNX file as a model version: reads its signature with ONNX Runtime, takes the feature
/// names (and means) from the request, detects the output kind, writes model.json beside a copy of the file, and
/// before writing anything loads it as the scorer will (<see cref="ModelSession"/>) and runs it at batch sizes 1
/// and 8. Every refusal is an <see cref="InvalidDataException"/> (or an <see cref="IOException"/> for files) whose
/// message says what was found and what to do.
/// </summary>
public static class ModelRegistration
{
    /// <summary>The largest batch the registration check runs: more than one fixed-size chunk of a small fixed batch.</summary>
    private const int CheckBatchRows = 8;

    private static readonly HashSet<string> MetadataColumns = new(StringComparer.Ordinal) { "event_id", "entity_id", "model_name", "event_time_ms" };

    /// <summary>Registers the model; see the type's summary.</summary>
    public static ModelRegistrationResult Register(ModelRegistrationRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        CheckFolderName("--name", request.Name);
        var store = new ModelStore(request.StoreRoot);
        var version = request.Version ?? NextVersion(store, request.Name);
        CheckFolderName("--version", version);
        var target = store.VersionDirectory(request.Name, version);
        if (Directory.Exists(target) && !request.Overwrite)
        {
            throw new IOException($"{target} already exists: pass --overwrite to replace it, or another --version.");
        }

        if (!File.Exists(request.OnnxPath))
        {
            throw new FileNotFoundException($"{request.OnnxPath} does not exist.", request.OnnxPath);
        }

        var bytes = File.ReadAllBytes(request.OnnxPath);
        using var options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1, LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL };
        InferenceSession session;
        try
        {
            session = new InferenceSession(bytes, options);
        }
        catch (OnnxRuntimeException ex)
        {
            throw new InvalidDataException($"{request.OnnxPath} is not a model ONNX Runtime can load: {FirstLine(ex.Message)}", ex);
        }

        using (session)
        {
            var signature = ModelSignature.Read(session, request.InputName, request.OutputName);
            var (features, means, meanRows) = ResolveFeatures(request, signature);
            var classNames = request.ClassNames?.ToArray();
            int width;
            if (signature.Layout == OutputLayout.ZipMap)
            {
                var keys = ZipMapKeys(session, signature, features.Count, means);
                if (classNames is not null && !classNames.Order(StringComparer.Ordinal).SequenceEqual(keys.Order(StringComparer.Ordinal), StringComparer.Ordinal))
                {
                    throw new InvalidDataException($"output '{signature.OutputName}' is a ZipMap whose keys are {string.Join(',', keys)}: --classes must list exactly those keys (in the column order wanted), or be left out.");
                }

                classNames ??= keys;
                width = classNames.Length;
            }
            else
            {
                width = signature.OutputWidth;
            }

            var kind = ResolveKind(request, signature, width);
            if (request.DecisionThreshold is { } threshold && (kind != OutputKind.BINARY_PROBABILITY || threshold is not (>= 0 and <= 1)))
            {
                throw new InvalidDataException(kind == OutputKind.BINARY_PROBABILITY
                    ? $"--threshold {threshold.ToString(CultureInfo.InvariantCulture)} is not a probability: give a value in 0..1."
                    : "--threshold applies to binary models only.");
            }

            if (classNames is not null && (kind == OutputKind.REGRESSION || classNames.Length != Math.Max(width, 2)))
            {
                throw new InvalidDataException(kind == OutputKind.REGRESSION
                    ? "--classes applies to classifiers only."
                    : $"output '{signature.OutputName}' ({signature.OutputDescription}) has {Math.Max(width, 2)} classes but --classes lists {classNames.Length}: give one name per class, in column order.");
            }

            var manifest = new ModelManifest
            {
                Name = request.Name,
                Version = version,
                Features = features,
                FeatureMeans = means,
                InputName = signature.InputName,
                OutputName = signature.OutputName,
                OutputWidth = width,
                OutputKind = kind,
                Logits = request.Logits,
                DecisionThreshold = request.DecisionThreshold ?? 0.5,
                ClassNames = classNames ?? [],
                LabelOutputName = signature.LabelOutputName,
            };
            RunAsTheScorerWill(manifest, bytes);
            var directory = store.Save(manifest, bytes, overwrite: request.Overwrite);
            return new ModelRegistrationResult(store.Load(request.Name, version).Manifest, signature, directory, meanRows);
        }
    }

    private static void CheckFolderName(string option, string value)
    {
        if (Identifiers.Check(option, value) is { } rejection)
        {
            throw new InvalidDataException($"{option}: {rejection.Detail}");
        }

        if (value.StartsWith('.') || value.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || value.Contains('\\', StringComparison.Ordinal))
        {
            throw new InvalidDataException($"{option} '{value}' cannot be a folder name in the store: use letters, digits, '-', '_' (not starting with '.').");
        }
    }

    private static string NextVersion(ModelStore store, string name)
    {
        var numeric = store.Versions(name).Select(v => long.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 0);
        return (numeric.DefaultIfEmpty(0).Max() + 1).ToString(CultureInfo.InvariantCulture);
    }

    private static (IReadOnlyList<string> Features, IReadOnlyList<double> Means, long Rows) ResolveFeatures(ModelRegistrationRequest request, ModelSignature signature)
    {
        if (request.Features is null && request.FeaturesFrom is null)
        {
            throw new InvalidDataException("name the features in input column order: --features a,b,c, or --features-from DATA.csv (its header, and the feature means for the ImputeMean policy).");
        }

        string[] features;
        double[] means = [];
        long rows = 0;
        if (request.FeaturesFrom is { } csv)
        {
            var (columns, sums, counts, rowCount) = ReadColumns(csv, request.LabelColumn);
            rows = rowCount;
            features = request.Features?.ToArray() ?? columns.ToArray();
            means = new double[features.Length];
            for (var j = 0; j < features.Length; j++)
            {
                var column = Array.IndexOf(columns, features[j]);
                if (column < 0)
                {
                    throw new InvalidDataException($"feature '{features[j]}' is not a column of {csv} (its feature columns: {string.Join(',', columns)}).");
                }

                if (counts[column] == 0)
                {
                    throw new InvalidDataException($"column '{features[j]}' of {csv} has no numeric value to take its mean from.");
                }

                means[j] = sums[column] / counts[column];
            }

            if (request.Features is null && signature.InputColumns > 0 && features.Length != signature.InputColumns)
            {
                throw new InvalidDataException($"input '{signature.InputName}' is {signature.InputDescription}, but {csv} has {features.Length} feature columns ({string.Join(',', features)}): "
                    + "name the model's features with --features a,b,c (they are looked up in the CSV for the means), or give the label column with --label.");
            }
        }
        else
        {
            features = request.Features!.ToArray();
        }

        foreach (var feature in features)
        {
            if (Identifiers.Check("feature name", feature) is { } rejection)
            {
                throw new InvalidDataException($"--features: {rejection.Detail}");
            }
        }

        var repeated = features.GroupBy(f => f, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (repeated is not null)
        {
            throw new InvalidDataException($"feature '{repeated.Key}' is named twice.");
        }

        if (signature.InputColumns > 0 && features.Length != signature.InputColumns)
        {
            throw new InvalidDataException($"input '{signature.InputName}' is {signature.InputDescription}: {signature.InputColumns} features, but {features.Length} were named; name one feature per input column, in column order.");
        }

        return (features, means, rows);
    }

    /// <summary>The CSV's feature columns with the sum and count of their finite values (empty cells are skipped).</summary>
    private static (string[] Columns, double[] Sums, long[] Counts, long Rows) ReadColumns(string path, string labelColumn)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path} does not exist.", path);
        }

        using var reader = new StreamReader(path);
        var header = (reader.ReadLine() ?? throw new InvalidDataException($"{path} is empty: it needs a header row.")).Split(',').Select(c => c.Trim()).ToArray();
        var featureIndexes = Enumerable.Range(0, header.Length).Where(i => !MetadataColumns.Contains(header[i]) && !string.Equals(header[i], labelColumn, StringComparison.Ordinal)).ToArray();
        var sums = new double[featureIndexes.Length];
        var counts = new long[featureIndexes.Length];
        long rows = 0;
        var line = 1;
        while (reader.ReadLine() is { } text)
        {
            line++;
            if (text.Length == 0)
            {
                continue;
            }

            rows++;
            var cells = text.Split(',');
            if (cells.Length != header.Length)
            {
                throw new InvalidDataException($"{path} line {line}: {cells.Length} cells, the header has {header.Length}.");
            }

            for (var j = 0; j < featureIndexes.Length; j++)
            {
                var cell = cells[featureIndexes[j]].Trim();
                if (cell.Length == 0)
                {
                    continue;
                }

                if (!double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
                {
                    throw new InvalidDataException($"{path} line {line}: column '{header[featureIndexes[j]]}' = '{Identifiers.Printable(cell)}' is not a number (is it the label? pass --label COLUMN).");
                }

                if (double.IsFinite(value))
                {
                    sums[j] += value;
                    counts[j]++;
                }
            }
        }

        return (featureIndexes.Select(i => header[i]).ToArray(), sums, counts, rows);
    }

    private static OutputKind ResolveKind(ModelRegistrationRequest request, ModelSignature signature, int width)
    {
        var output = $"output '{signature.OutputName}' ({signature.OutputDescription})";
        if (request.Kind is { } kind)
        {
            var fits = kind switch
            {
                OutputKind.BINARY_PROBABILITY => width is 1 or 2,
                OutputKind.MULTICLASS_PROBABILITIES => width >= 2,
                _ => width == 1,
            };
            if (!fits)
            {
                throw new InvalidDataException($"{output} has {width} value(s) per row, which cannot be --kind {KindName(kind)}: binary reads 1 or 2 columns, multiclass 2 or more, regression 1.");
            }

            if (kind == OutputKind.REGRESSION && request.Logits)
            {
                throw new InvalidDataException("--logits applies to classifiers (a sigmoid or softmax of the output), not to --kind regression.");
            }

            return kind;
        }

        if (width >= 3)
        {
            return OutputKind.MULTICLASS_PROBABILITIES;
        }

        if (width == 2 || request.Logits || signature.LabelOutputName is not null || signature.OutputName.Contains("prob", StringComparison.OrdinalIgnoreCase))
        {
            return OutputKind.BINARY_PROBABILITY;
        }

        throw new InvalidDataException($"{output} has one value per row, which may be a probability, a logit or a regression value: pass --kind binary (a probability of class 1), --kind binary --logits (a logit), or --kind regression.");
    }

    private static string KindName(OutputKind kind) => kind switch
    {
        OutputKind.BINARY_PROBABILITY => "binary",
        OutputKind.MULTICLASS_PROBABILITIES => "multiclass",
        _ => "regression",
    };

    /// <summary>A ZipMap's keys, from one run on the feature means (zeros without them): the graph does not declare them.</summary>
    private static string[] ZipMapKeys(InferenceSession session, ModelSignature signature, int columns, IReadOnlyList<double> means)
    {
        var rows = Math.Max(1, signature.FixedBatch);
        long[] shape = [rows, columns];
        var values = Enumerable.Range(0, rows * columns).Select(i => means.Count > 0 ? means[i % columns] : 0).ToArray();
        using var input = signature.InputIsDouble
            ? OrtValue.CreateTensorValueFromMemory(values, shape)
            : OrtValue.CreateTensorValueFromMemory(values.Select(v => (float)v).ToArray(), shape);
        try
        {
            using var runOptions = new RunOptions();
            using var results = session.Run(runOptions, [signature.InputName], [input], [signature.OutputName]);
            var allocator = OrtAllocator.DefaultInstance;
            using var map = results.First().GetValue(0, allocator);
            using var keys = map.GetValue(0, allocator);
            return signature.ZipMapStringKeys
                ? keys.GetStringTensorAsArray()
                : keys.GetTensorDataAsSpan<long>().ToArray().Select(k => k.ToString(CultureInfo.InvariantCulture)).ToArray();
        }
        catch (OnnxRuntimeException ex)
        {
            throw new InvalidDataException($"ONNX Runtime could not run the model on {rows} row(s) to read the ZipMap's classes: {FirstLine(ex.Message)}", ex);
        }
    }

    /// <summary>Loads the manifest and bytes as the scorer will and runs batches of 1 and <see cref="CheckBatchRows"/> rows.</summary>
    private static void RunAsTheScorerWill(ModelManifest manifest, byte[] bytes)
    {
        var model = new StoredModel(manifest, bytes, ModelStore.Sha256Hex(bytes), "");
        try
        {
            using var session = ModelSession.Create(model, new SessionSettings { MaxBatchRows = CheckBatchRows, Provider = ExecutionProviderChoice.Cpu, IntraOpThreads = 1, QuietRuntimeLog = true }, NullLogger.Instance);
            if (!session.WarmUp())
            {
                throw new InvalidDataException($"the model's outputs on the feature means ({(manifest.FeatureMeans.Count > 0 ? "from --features-from" : "zeros without --features-from")}) are not finite.");
            }
        }
        catch (OnnxRuntimeException ex)
        {
            throw new InvalidDataException($"ONNX Runtime could not run the model on batches of 1 and {CheckBatchRows} rows: {FirstLine(ex.Message)}. "
                + "A graph traced at one batch size may keep that size (e.g. in a Reshape) although its batch axis is declared dynamic: re-export it and try it at several batch sizes.", ex);
        }
    }

    private static string FirstLine(string message) => message.Split('\n', 2)[0].Trim();
}
