using System.CommandLine;
using System.Globalization;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;
using StreamMonitor.Analytics.Drift;
using StreamMonitor.Contracts;
using StreamMonitor.Kafka;
using StreamMonitor.Models.Inference;
using StreamMonitor.Models.Store;

namespace StreamMonitor.Cli.Commands;

/// <summary>`streammon profile build`: the reference profile the aggregator's drift topology compares windows with.</summary>
public static class ProfileCommands
{
    /// <summary>The `profile` verb with its sub-verbs.</summary>
    public static Command Create()
    {
        var profile = new Command("profile", "Reference profiles for drift detection.");
        profile.Add(CreateBuild());
        return profile;
    }

    private static Command CreateBuild()
    {
        var data = new Option<FileInfo?>("--data") { Description = "Reference CSV with a header row (e.g. the training set)." };
        var model = new Option<string>("--model") { Description = "Model name the profile is for.", Required = true };
        var output = new Option<FileInfo>("--out") { Description = "Profile file to write (JSON).", Required = true };
        var exclude = new Option<string[]>("--exclude") { Description = "Columns to leave out (label, ids).", DefaultValueFactory = _ => ["label"], AllowMultipleArgumentsPerToken = true };
        var scoreColumn = new Option<string?>("--score-column") { Description = "CSV column holding the model's score (profiled as the score reference)." };
        var scoreStore = new Option<DirectoryInfo?>("--score-with-store") { Description = "Score every reference row with the --model model from this model store (ONNX Runtime, CPU) and profile the scores as the score reference (prediction_score)." };
        var scoreVersion = new Option<string?>("--score-version") { Description = "Model version to score with (default: the newest in the store)." };
        var scoreNonFinite = new Option<NonFinitePolicy>("--score-non-finite") { Description = "Reject (the scorer's default: the row gets no score) or ImputeMean for null/NaN/Inf feature values when scoring; set it as the scorer's Scorer:NonFinitePolicy.", DefaultValueFactory = _ => NonFinitePolicy.Reject };
        var scoreIgnoreExtra = new Option<bool>("--score-ignore-extra-features") { Description = "Topic ranges: score events carrying numeric features the model does not know (the scorer's Scorer:RejectExtraFeatures=false) instead of rejecting them." };
        var bins = new Option<int>("--bins") { Description = "Coarse bins of equal reference mass (PSI, Jensen-Shannon).", DefaultValueFactory = _ => 10 };
        var grid = new Option<int>("--grid") { Description = "Quantile grid resolution G of continuous columns (KS, Wasserstein: values heavier than 1/G get a cell of their own).", DefaultValueFactory = _ => NumericProfile.DefaultGridResolution };
        var discreteMax = new Option<int>("--discrete-max-values") { Description = "Numeric columns with at most this many distinct reference values keep their exact value frequencies (discrete).", DefaultValueFactory = _ => NumericProfile.DefaultDiscreteMaxValues };
        var bootstrap = new Option<string?>("--bootstrap-servers") { Description = "Build from the features topic instead of a CSV: Kafka bootstrap servers." };
        var fromMs = new Option<long>("--from-ms") { Description = "Topic range: first event time (inclusive, epoch ms).", DefaultValueFactory = _ => long.MinValue };
        var toMs = new Option<long>("--to-ms") { Description = "Topic range: last event time (exclusive, epoch ms).", DefaultValueFactory = _ => long.MaxValue };
        var suffix = new Option<string>("--suffix") { Description = "Topic-name suffix (replay namespace).", DefaultValueFactory = _ => "" };
        var build = new Command("build", "Build a reference profile from a CSV data set or from a range of event time on the features topic.")
        {
            data, model, output, exclude, scoreColumn, scoreStore, scoreVersion, scoreNonFinite, scoreIgnoreExtra, bins, grid, discreteMax, bootstrap, fromMs, toMs, suffix,
        };
        build.SetAction(async (parse, cancellationToken) =>
        {
            var modelName = parse.GetValue(model)!;
            var binCount = parse.GetValue(bins);
            var gridResolution = parse.GetValue(grid);
            var discreteMaxValues = parse.GetValue(discreteMax);
            if (binCount < 2 || gridResolution < binCount || discreteMaxValues < 0)
            {
                await Console.Error.WriteLineAsync("--bins must be at least 2, --grid at least --bins and --discrete-max-values at least 0.");
                return 2;
            }

            var storeRoot = parse.GetValue(scoreStore);
            if (storeRoot is not null && parse.GetValue(scoreColumn) is not null)
            {
                await Console.Error.WriteLineAsync("Give either --score-column (scores already in the CSV) or --score-with-store (score the rows with a stored model), not both.");
                return 2;
            }

            if (storeRoot is null && parse.GetValue(scoreVersion) is not null)
            {
                await Console.Error.WriteLineAsync("--score-version needs --score-with-store.");
                return 2;
            }

            ReferenceProfile result;
            ReferenceScores? scores = null;
            try
            {
                using var loggers = CliLogging.Create(LogLevel.Warning);
                using var scorer = storeRoot is null ? null : OpenScorer(storeRoot.FullName, modelName, parse.GetValue(scoreVersion), parse.GetValue(scoreNonFinite), !parse.GetValue(scoreIgnoreExtra), loggers.CreateLogger("streammon.profile"));
                if (parse.GetValue(data) is { } csv)
                {
                    result = ProfileBuilder.FromCsv(csv.FullName, modelName, parse.GetValue(exclude) ?? [], parse.GetValue(scoreColumn), gridResolution, binCount, discreteMaxValues);
                    if (scorer is not null)
                    {
                        foreach (var row in CsvRows(csv.FullName, scorer.Session.Model.Manifest))
                        {
                            scorer.Scorer.Add(row);
                        }
                    }
                }
                else if (parse.GetValue(bootstrap) is { } servers)
                {
                    var options = new KafkaOptions { BootstrapServers = servers, Topics = new TopicCatalog { Suffix = parse.GetValue(suffix) ?? "" } };
                    result = FromTopic(options, modelName, parse.GetValue(fromMs), parse.GetValue(toMs), gridResolution, binCount, discreteMaxValues, scorer?.Scorer, cancellationToken);
                }
                else
                {
                    await Console.Error.WriteLineAsync("Give --data <csv> or --bootstrap-servers with a time range.");
                    return 2;
                }

                if (scorer is not null)
                {
                    scores = scorer.Scorer.Complete();
                    if (scores.Scores.Count == 0)
                    {
                        throw new InvalidDataException($"{modelName} {scorer.Session.Model.Manifest.Version} could score none of the {scores.Rows} reference rows ({Rejections(scores)}).");
                    }

                    var manifest = scorer.Session.Model.Manifest;
                    result.Score = NumericProfile.Build(ReferenceScorer.ScoreFeature, scores.Scores, gridResolution, binCount, discreteMaxValues);
                    result.Source += $"; scores: {manifest.Name} {manifest.Version} (model.onnx sha256 {scorer.Session.Model.Sha256[..12]})";
                    result.Seal();
                }
            }
            catch (Exception ex) when (ex is InvalidDataException or IOException or KafkaException or OnnxRuntimeException)
            {
                await Console.Error.WriteLineAsync($"Cannot build the profile: {ex.Message}");
                return 1;
            }

            var file = parse.GetValue(output)!;
            file.Directory?.Create();
            await File.WriteAllTextAsync(file.FullName, result.ToJson(), cancellationToken);
            Console.WriteLine($"Profile {result.Id} for model '{modelName}': {result.Rows} rows, {result.Numeric.Count} numeric and {result.Categorical.Count} categorical features{(result.Score is null ? "" : " and the score")} -> {file.FullName}");
            if (scores is not null)
            {
                Console.WriteLine(scores.RejectedRows == 0
                    ? $"Score reference: all {scores.Rows} rows scored."
                    : $"Score reference: {scores.Scores.Count} of {scores.Rows} rows scored; {scores.RejectedRows} rejected as the scorer would reject them ({Rejections(scores)}; first: {scores.FirstRejection}).");
            }

            return 0;
        });
        return build;
    }

    /// <summary>
    /// Reads every partition of the features topic up to its current end and profiles the model's events in [from, to);
    /// each of those events also goes to <paramref name="scorer"/> when one is given.
    /// </summary>
    private static ReferenceProfile FromTopic(KafkaOptions options, string model, long fromMs, long toMs, int gridResolution, int bins, int discreteMaxValues, ReferenceScorer? scorer, CancellationToken cancellationToken)
    {
        var codec = new EventCodec();
        var numeric = new Dictionary<string, List<double>>(StringComparer.Ordinal);
        var categorical = new Dictionary<string, List<string?>>(StringComparer.Ordinal);
        long rows = 0;
        var config = KafkaClientConfig.Consumer(options, "streammon-profile-" + Guid.NewGuid().ToString("N"), "streammon-profile");
        using var consumer = new ConsumerBuilder<byte[], byte[]>(config).Build();
        var topic = options.Topics.Features;
        // One partition after the other, so the rows keep their order (partition by partition) whatever the fetches do.
        for (var partition = 0; partition < options.Topics.InputPartitions; partition++)
        {
            var tp = new TopicPartition(topic, partition);
            var watermarks = consumer.QueryWatermarkOffsets(tp, TimeSpan.FromSeconds(10));
            foreach (var record in PartitionRangeReader.Records(consumer, [new TopicPartitionRange(tp, watermarks.Low.Value, watermarks.High.Value)], TimeSpan.FromSeconds(10), cancellationToken))
            {
                if (codec.TryDeserialize<FeatureEvent>(record.Message.Value, out var features, out _) && features is not null
                    && features.ModelName == model && features.EventTimeMs >= fromMs && features.EventTimeMs < toMs)
                {
                    var row = rows++;
                    scorer?.Add(features);
                    foreach (var (name, value) in features.Features)
                    {
                        Column(numeric, name, row, double.NaN).Add(value ?? double.NaN);
                    }

                    foreach (var (name, value) in features.Categorical)
                    {
                        Column(categorical, name, row, null).Add(value);
                    }

                    // A column missing from this event is a null in it.
                    foreach (var column in numeric.Values.Where(c => c.Count == row))
                    {
                        column.Add(double.NaN);
                    }

                    foreach (var column in categorical.Values.Where(c => c.Count == row))
                    {
                        column.Add(null);
                    }
                }
            }
        }

        if (rows == 0)
        {
            throw new InvalidDataException($"No events of model '{model}' in the range on {topic}.");
        }

        var profile = new ReferenceProfile
        {
            Model = model,
            Source = $"{topic} event time [{fromMs}, {toMs})",
            Rows = rows,
            Numeric = numeric.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => NumericProfile.Build(c.Key, c.Value, gridResolution, bins, discreteMaxValues)).ToList(),
            Categorical = categorical.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => CategoricalProfile.Build(c.Key, c.Value)).ToList(),
        };
        profile.Seal();
        return profile;
    }

    /// <summary>The stored model version, its CPU session and a <see cref="ReferenceScorer"/> over both.</summary>
    private sealed class OpenedScorer(ModelSession session, ReferenceScorer scorer) : IDisposable
    {
        public ModelSession Session { get; } = session;

        public ReferenceScorer Scorer { get; } = scorer;

        public void Dispose() => Session.Dispose();
    }

    private static OpenedScorer OpenScorer(string storeRoot, string model, string? version, NonFinitePolicy policy, bool rejectExtraFeatures, ILogger logger)
    {
        var store = new ModelStore(storeRoot);
        var chosen = version ?? store.LatestVersion(model) ?? throw new InvalidDataException($"No version of model '{model}' in the model store {store.Root}.");
        if (!store.Versions(model).Contains(chosen, StringComparer.Ordinal))
        {
            throw new InvalidDataException($"Model '{model}' has no version '{chosen}' in the model store {store.Root} (versions: {string.Join(", ", store.Versions(model))}).");
        }

        var stored = store.Load(model, chosen);
        var session = ModelSession.Create(stored, new SessionSettings { Provider = ExecutionProviderChoice.Cpu }, logger);
        return new OpenedScorer(session, new ReferenceScorer(session, new FeatureValidator(stored.Manifest, policy, rejectExtraFeatures)));
    }

    /// <summary>
    /// The CSV's rows as feature events holding the model's features only, mapped by column name (any column order;
    /// other columns such as the label or ids are not model inputs and are not read).
    /// Empty, NA and null cells are null values; a cell that is not a number arrives as a categorical value (the
    /// validator's wrong type), so the validator decides every row as the scorer would.
    /// </summary>
    private static IEnumerable<FeatureEvent> CsvRows(string path, ModelManifest manifest)
    {
        using var reader = new StreamReader(path);
        var header = (reader.ReadLine() ?? "").Split(',').Select(h => h.Trim()).ToArray();
        var columns = new int[manifest.Features.Count];
        for (var j = 0; j < columns.Length; j++)
        {
            columns[j] = Array.IndexOf(header, manifest.Features[j]);
        }

        var missing = manifest.Features.Where((_, j) => columns[j] < 0).ToList();
        if (missing.Count > 0)
        {
            throw new InvalidDataException($"{path} has no column for {missing.Count} of the {manifest.Features.Count} features of {manifest.Name} {manifest.Version}: {string.Join(", ", missing)}.");
        }

        var line = 1;
        while (reader.ReadLine() is { } text)
        {
            line++;
            if (text.Length == 0)
            {
                continue;
            }

            var cells = text.Split(',');
            if (cells.Length != header.Length)
            {
                throw new InvalidDataException($"{path}:{line}: {cells.Length} fields, the header {header.Length}.");
            }

            var row = new FeatureEvent { ModelName = manifest.Name, EventId = $"{Path.GetFileName(path)}:{line}" };
            for (var j = 0; j < columns.Length; j++)
            {
                var cell = cells[columns[j]].Trim();
                if (cell.Length == 0 || cell.Equals("NA", StringComparison.OrdinalIgnoreCase) || cell.Equals("null", StringComparison.OrdinalIgnoreCase))
                {
                    row.Features[manifest.Features[j]] = null;
                }
                else if (double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
                {
                    row.Features[manifest.Features[j]] = value;
                }
                else
                {
                    row.Categorical[manifest.Features[j]] = cell;
                }
            }

            yield return row;
        }
    }

    private static string Rejections(ReferenceScores scores) => string.Join(", ", scores.Rejected.Select(r => $"{r.Key}: {r.Value}"));

    private static List<T> Column<T>(Dictionary<string, List<T>> columns, string name, long rowsBefore, T missing)
    {
        if (!columns.TryGetValue(name, out var column))
        {
            // A column first seen now was missing from every earlier event.
            column = Enumerable.Repeat(missing, (int)rowsBefore).ToList();
            columns[name] = column;
        }

        return column;
    }
}
