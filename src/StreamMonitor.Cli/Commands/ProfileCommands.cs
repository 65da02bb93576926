using System.CommandLine;
using Confluent.Kafka;
using StreamMonitor.Contracts;
using StreamMonitor.Kafka;
using StreamMonitor.Streams.Drift;

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
        var bins = new Option<int>("--bins") { Description = "Coarse bins of equal reference mass (PSI, Jensen-Shannon).", DefaultValueFactory = _ => 10 };
        var grid = new Option<int>("--grid") { Description = "Quantile grid resolution (KS, Wasserstein).", DefaultValueFactory = _ => 1000 };
        var bootstrap = new Option<string?>("--bootstrap-servers") { Description = "Build from the features topic instead of a CSV: Kafka bootstrap servers." };
        var fromMs = new Option<long>("--from-ms") { Description = "Topic range: first event time (inclusive, epoch ms).", DefaultValueFactory = _ => long.MinValue };
        var toMs = new Option<long>("--to-ms") { Description = "Topic range: last event time (exclusive, epoch ms).", DefaultValueFactory = _ => long.MaxValue };
        var suffix = new Option<string>("--suffix") { Description = "Topic-name suffix (replay namespace).", DefaultValueFactory = _ => "" };
        var build = new Command("build", "Build a reference profile from a CSV data set or from a range of event time on the features topic.")
        {
            data, model, output, exclude, scoreColumn, bins, grid, bootstrap, fromMs, toMs, suffix,
        };
        build.SetAction(async (parse, cancellationToken) =>
        {
            var modelName = parse.GetValue(model)!;
            var binCount = parse.GetValue(bins);
            var gridResolution = parse.GetValue(grid);
            if (binCount < 2 || gridResolution < binCount)
            {
                await Console.Error.WriteLineAsync("--bins must be at least 2 and --grid at least --bins.");
                return 2;
            }

            ReferenceProfile result;
            try
            {
                if (parse.GetValue(data) is { } csv)
                {
                    result = ProfileBuilder.FromCsv(csv.FullName, modelName, parse.GetValue(exclude) ?? [], parse.GetValue(scoreColumn), gridResolution, binCount);
                }
                else if (parse.GetValue(bootstrap) is { } servers)
                {
                    var options = new KafkaOptions { BootstrapServers = servers, Topics = new TopicCatalog { Suffix = parse.GetValue(suffix) ?? "" } };
                    result = FromTopic(options, modelName, parse.GetValue(fromMs), parse.GetValue(toMs), gridResolution, binCount, cancellationToken);
                }
                else
                {
                    await Console.Error.WriteLineAsync("Give --data <csv> or --bootstrap-servers with a time range.");
                    return 2;
                }
            }
            catch (Exception ex) when (ex is InvalidDataException or IOException or KafkaException)
            {
                await Console.Error.WriteLineAsync($"Cannot build the profile: {ex.Message}");
                return 1;
            }

            var file = parse.GetValue(output)!;
            file.Directory?.Create();
            await File.WriteAllTextAsync(file.FullName, result.ToJson(), cancellationToken);
            Console.WriteLine($"Profile {result.Id} for model '{modelName}': {result.Rows} rows, {result.Numeric.Count} numeric and {result.Categorical.Count} categorical features{(result.Score is null ? "" : " and the score")} -> {file.FullName}");
            return 0;
        });
        return build;
    }

    /// <summary>Reads every partition of the features topic up to its current end and profiles the model's events in [from, to).</summary>
    private static ReferenceProfile FromTopic(KafkaOptions options, string model, long fromMs, long toMs, int gridResolution, int bins, CancellationToken cancellationToken)
    {
        var codec = new EventCodec();
        var numeric = new Dictionary<string, List<double>>(StringComparer.Ordinal);
        var categorical = new Dictionary<string, List<string?>>(StringComparer.Ordinal);
        long rows = 0;
        var config = KafkaClientConfig.Consumer(options, "streammon-profile-" + Guid.NewGuid().ToString("N"), "streammon-profile");
        using var consumer = new ConsumerBuilder<byte[], byte[]>(config).Build();
        var topic = options.Topics.Features;
        for (var partition = 0; partition < options.Topics.InputPartitions; partition++)
        {
            var tp = new TopicPartition(topic, partition);
            var end = consumer.QueryWatermarkOffsets(tp, TimeSpan.FromSeconds(10)).High.Value;
            if (end == 0)
            {
                continue;
            }

            consumer.Assign(new TopicPartitionOffset(tp, Offset.Beginning));
            while (!cancellationToken.IsCancellationRequested)
            {
                var record = consumer.Consume(TimeSpan.FromSeconds(10)) ?? throw new InvalidDataException($"Timed out reading {tp}.");
                if (codec.TryDeserialize<FeatureEvent>(record.Message.Value, out var features, out _) && features is not null
                    && features.ModelName == model && features.EventTimeMs >= fromMs && features.EventTimeMs < toMs)
                {
                    var row = rows++;
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

                if (record.Offset.Value + 1 >= end)
                {
                    break;
                }
            }

            consumer.Unassign();
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
            Numeric = numeric.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => NumericProfile.Build(c.Key, c.Value, gridResolution, bins)).ToList(),
            Categorical = categorical.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => CategoricalProfile.Build(c.Key, c.Value)).ToList(),
        };
        profile.Seal();
        return profile;
    }

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
