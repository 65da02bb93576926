using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Spectre.Console;
using StreamMonitor.Kafka;
using StreamMonitor.Models.Batch;
using StreamMonitor.Models.Inference;
using StreamMonitor.Models.Store;

namespace StreamMonitor.Cli.Commands;

/// <summary>`streammon score`: batch scoring (backfill) of a topic range or a CSV/Parquet file.</summary>
public static class ScoreCommands
{
    /// <summary>The `score` verb.</summary>
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model name in the store.", Required = true };
        var version = new Option<string?>("--version") { Description = "Model version (default: the newest)." };
        var store = new Option<DirectoryInfo>("--store") { Description = "Model store root.", DefaultValueFactory = _ => new DirectoryInfo("models") };
        var inputTopic = new Option<string?>("--input-topic") { Description = "Topic of FeatureEvents to score (e.g. streammon.features)." };
        var inputCsv = new Option<FileInfo?>("--input-csv") { Description = "CSV file: numeric columns are features (event_id, entity_id, event_time_ms and label columns are not)." };
        var inputParquet = new Option<FileInfo?>("--input-parquet") { Description = "Parquet file, same column rules as CSV." };
        var from = new Option<string?>("--from") { Description = "Start offsets: one offset for every partition, or p:offset,p:offset (default: low watermark)." };
        var to = new Option<string?>("--to") { Description = "End offsets, exclusive, same forms (default: high watermark at start)." };
        var fromTime = new Option<string?>("--from-time") { Description = "Start at the first record with timestamp >= this (ISO-8601 or epoch ms)." };
        var toTime = new Option<string?>("--to-time") { Description = "Stop before the first record with timestamp >= this (ISO-8601 or epoch ms)." };
        var outputTopic = new Option<string?>("--output-topic") { Description = "Topic to write Predictions to (keyed by event id)." };
        var outputFile = new Option<FileInfo?>("--output-file") { Description = "File to write predictions to: .csv, or JSON lines otherwise." };
        var batchSize = new Option<int>("--batch-size") { Description = "Rows per ONNX Runtime run.", DefaultValueFactory = _ => 256 };
        var provider = new Option<ExecutionProviderChoice>("--execution-provider") { Description = "auto, cpu or cuda.", DefaultValueFactory = _ => ExecutionProviderChoice.Auto };
        var cudaDevice = new Option<int>("--cuda-device") { Description = "CUDA device id for auto and cuda.", DefaultValueFactory = _ => 0 };
        var inFlight = new Option<int>("--batches-in-flight") { Description = "Scored batches that may wait for the output while the next ones run (more on a GPU, whose useful batches are larger).", DefaultValueFactory = _ => 2 };
        var intraOp = new Option<int>("--intra-op-threads") { Description = "ONNX Runtime intra-op threads (0: one per physical core available to the process).", DefaultValueFactory = _ => 0 };
        var policy = new Option<NonFinitePolicy>("--non-finite") { Description = "Reject or ImputeMean for null/NaN/Inf values.", DefaultValueFactory = _ => NonFinitePolicy.Reject };
        var bootstrap = new Option<string?>("--bootstrap-servers") { Description = "Bootstrap servers (default: Kafka__BootstrapServers)." };
        var score = new Command("score", "Score a topic range or a CSV/Parquet file in large batches as fast as the machine allows, to a topic or a file, with progress and a summary.")
        {
            model, version, store, inputTopic, inputCsv, inputParquet, from, to, fromTime, toTime, outputTopic, outputFile, batchSize, inFlight, provider, cudaDevice, intraOp, policy, bootstrap,
        };
        score.SetAction((parse, cancellationToken) => CliErrors.RunAsync(async () =>
        {
            var inputs = new object?[] { parse.GetValue(inputTopic), parse.GetValue(inputCsv), parse.GetValue(inputParquet) }.Count(i => i is not null);
            var outputs = new object?[] { parse.GetValue(outputTopic), parse.GetValue(outputFile) }.Count(o => o is not null);
            if (inputs != 1 || outputs != 1)
            {
                await Console.Error.WriteLineAsync("Give exactly one of --input-topic, --input-csv, --input-parquet and one of --output-topic, --output-file.");
                return 2;
            }

            if (parse.GetValue(cudaDevice) < 0)
            {
                await Console.Error.WriteLineAsync("--cuda-device must not be negative.");
                return 2;
            }

            if (parse.GetValue(batchSize) is < 1 or > 65_536)
            {
                await Console.Error.WriteLineAsync("--batch-size must be in 1..65536.");
                return 2;
            }

            if (parse.GetValue(inFlight) is < 1 or > 64)
            {
                await Console.Error.WriteLineAsync("--batches-in-flight must be in 1..64.");
                return 2;
            }

            var kafka = new KafkaOptions();
            new ConfigurationBuilder().AddEnvironmentVariables().Build().GetSection(KafkaOptions.SectionName).Bind(kafka);
            kafka.BootstrapServers = parse.GetValue(bootstrap) ?? kafka.BootstrapServers;
            var needsKafka = parse.GetValue(inputTopic) is not null || parse.GetValue(outputTopic) is not null;
            if (needsKafka && string.IsNullOrWhiteSpace(kafka.BootstrapServers))
            {
                await Console.Error.WriteLineAsync("No bootstrap servers: pass --bootstrap-servers or set Kafka__BootstrapServers.");
                return 2;
            }

            var modelStore = new ModelStore(parse.GetValue(store)!.FullName);
            var modelName = parse.GetValue(model)!;
            var modelVersion = parse.GetValue(version) ?? modelStore.LatestVersion(modelName);
            if (modelVersion is null)
            {
                await Console.Error.WriteLineAsync($"No version of {modelName} in {modelStore.Root}.");
                return 1;
            }

            using var loggers = CliLogging.Create();
            var logger = loggers.CreateLogger("streammon.score");
            var stored = modelStore.Load(modelName, modelVersion);
            using var session = ModelSession.Create(stored, new SessionSettings
            {
                MaxBatchRows = parse.GetValue(batchSize),
                Provider = parse.GetValue(provider),
                DeviceId = parse.GetValue(cudaDevice),
                IntraOpThreads = parse.GetValue(intraOp),
                QuietRuntimeLog = true,
            }, logger);
            if (!session.WarmUp())
            {
                throw new InvalidDataException($"{modelName} {modelVersion}: its outputs on the feature means are not finite.");
            }
            var validator = new FeatureValidator(stored.Manifest, parse.GetValue(policy), rejectExtraFeatures: true);
            var scorer = new BackfillScorer(session, validator, $"streammon-score-{Environment.ProcessId}", parse.GetValue(inFlight));

            KafkaRange? range = null;
            try
            {
                IAsyncEnumerable<BatchInput> source;
                long? total;
                if (parse.GetValue(inputTopic) is { } topic)
                {
                    range = new KafkaRange(kafka, topic);
                    var ranges = ResolveRanges(range, parse.GetValue(from), parse.GetValue(to), parse.GetValue(fromTime), parse.GetValue(toTime));
                    foreach (var r in ranges)
                    {
                        logger.LogInformation("{Topic}[{Partition}] offsets [{From}, {To}): {Count} records", topic, r.Partition, r.From, r.To, r.Count);
                    }

                    total = ranges.Sum(r => r.Count);
                    source = range.ReadAsync(ranges, session, validator, cancellationToken);
                }
                else if (parse.GetValue(inputCsv) is { } csv)
                {
                    total = File.ReadLines(csv.FullName).Skip(1).LongCount(l => l.Length > 0);
                    source = FileSources.CsvAsync(csv.FullName, modelName, cancellationToken: cancellationToken);
                }
                else
                {
                    total = null;
                    source = FileSources.ParquetAsync(parse.GetValue(inputParquet)!.FullName, modelName, cancellationToken: cancellationToken);
                }

                using IPredictionSink sink = parse.GetValue(outputTopic) is { } outTopic
                    ? new TopicPredictionSink(kafka, outTopic)
                    : new FilePredictionSink(parse.GetValue(outputFile)!.FullName);
                BatchSummary summary = null!;
                await AnsiConsole.Progress()
                    .AutoClear(false)
                    .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                    .StartAsync(async context =>
                    {
                        var task = context.AddTask($"{modelName} v{modelVersion}", maxValue: Math.Max(1, total ?? 1));
                        task.IsIndeterminate = total is null;
                        var progress = new SynchronousProgress(p =>
                        {
                            task.Value = Math.Min(task.MaxValue, p.Rows);
                            var rate = p.Elapsed.TotalSeconds > 0 ? p.Rows / p.Elapsed.TotalSeconds : 0;
                            task.Description = string.Create(CultureInfo.InvariantCulture, $"{modelName} v{modelVersion}: {p.Rows:N0} rows, {rate:N0} rows/s, {p.Errors:N0} errors");
                        });
                        summary = await scorer.RunAsync(source, sink, progress, cancellationToken).ConfigureAwait(false);
                        task.Value = task.MaxValue;
                    }).ConfigureAwait(false);

                var table = new Table().AddColumn("Summary").AddColumn(new TableColumn("Value").RightAligned());
                table.AddRow("Model", $"{modelName} v{modelVersion} ({stored.Sha256[..12]}...)");
                table.AddRow("Execution provider", session.ExecutionProvider);
                table.AddRow("Rows", summary.Rows.ToString("N0", CultureInfo.InvariantCulture));
                table.AddRow("Scored / errors", $"{summary.Scored:N0} / {summary.Errors:N0}");
                table.AddRow("Batches", summary.Batches.ToString("N0", CultureInfo.InvariantCulture));
                table.AddRow("Elapsed", $"{summary.Elapsed.TotalSeconds:F2} s");
                table.AddRow("Throughput", $"{summary.RowsPerSecond:N0} rows/s");
                table.AddRow("Inference share", summary.Elapsed > TimeSpan.Zero ? $"{summary.InferenceTime / summary.Elapsed:P1}" : "-");
                AnsiConsole.Write(table);
                return 0;
            }
            catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or FormatException or Confluent.Kafka.KafkaException)
            {
                await Console.Error.WriteLineAsync(ex.Message);
                return 1;
            }
            finally
            {
                range?.Dispose();
            }
        }));
        return score;
    }

    private static List<PartitionRange> ResolveRanges(KafkaRange range, string? from, string? to, string? fromTime, string? toTime)
    {
        var partitions = range.Partitions();
        var result = new List<PartitionRange>();
        var fromOffsets = ParseOffsets(from);
        var toOffsets = ParseOffsets(to);
        var fromMs = fromTime is null ? (long?)null : ParseTime(fromTime);
        var toMs = toTime is null ? (long?)null : ParseTime(toTime);
        foreach (var partition in partitions)
        {
            var marks = range.Watermarks(partition);
            var start = fromMs is { } f ? range.OffsetForTime(partition, f) : Pick(fromOffsets, partition, marks.Low.Value);
            var end = toMs is { } t ? range.OffsetForTime(partition, t) : Pick(toOffsets, partition, marks.High.Value);
            start = Math.Clamp(start, marks.Low.Value, marks.High.Value);
            end = Math.Clamp(end, start, marks.High.Value);
            result.Add(new PartitionRange(partition, start, end));
        }

        return result;
    }

    private static long Pick(Dictionary<int, long>? offsets, int partition, long fallback) =>
        offsets is null ? fallback : offsets.TryGetValue(partition, out var o) ? o : offsets.TryGetValue(-1, out var all) ? all : fallback;

    /// <summary>"123" (every partition, key -1) or "0:10,1:20".</summary>
    private static Dictionary<int, long>? ParseOffsets(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        var result = new Dictionary<int, long>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var colon = part.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0)
            {
                result[-1] = long.Parse(part, CultureInfo.InvariantCulture);
            }
            else
            {
                result[int.Parse(part[..colon], CultureInfo.InvariantCulture)] = long.Parse(part[(colon + 1)..], CultureInfo.InvariantCulture);
            }
        }

        return result;
    }

    private static long ParseTime(string text) =>
        long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var ms)
            ? ms
            : DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal).ToUnixTimeMilliseconds();

    /// <summary>Reports on the caller's thread (Progress&lt;T&gt; would post to the thread pool and lag behind).</summary>
    private sealed class SynchronousProgress(Action<BatchProgress> report) : IProgress<BatchProgress>
    {
        public void Report(BatchProgress value) => report(value);
    }
}
