using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using StreamMonitor.Contracts;
using StreamMonitor.Models.Batch;
using StreamMonitor.Models.Inference;
using StreamMonitor.Models.Store;

namespace StreamMonitor.Cli.Commands;

/// <summary>
/// `streammon models check NAME`: scores sample rows of a CSV with a stored model exactly as the scorer does
/// (same validator, same session, same output reading) and prints what the scorer would publish for each row next
/// to the manifest, to compare with the exporting framework's own outputs before going live.
/// </summary>
public static class ModelCheckCommand
{
    /// <summary>The `check` sub-verb.</summary>
    public static Command Create()
    {
        var name = new Argument<string>("NAME") { Description = "Model name in the store." };
        var version = new Option<string?>("--version") { Description = "Version (default: the newest)." };
        var store = new Option<DirectoryInfo>("--store") { Description = "Model store root.", DefaultValueFactory = _ => new DirectoryInfo("models") };
        var data = new Option<FileInfo>("--data") { Description = "CSV with a header row, as for streammon score: feature columns by name; event_id, entity_id, model_name, event_time_ms and the label are not features.", Required = true };
        var rows = new Option<int>("--rows") { Description = "Rows to score, from the top of the file.", DefaultValueFactory = _ => 10 };
        var label = new Option<string>("--label") { Description = "Label column (not a feature).", DefaultValueFactory = _ => "label" };
        var policy = new Option<NonFinitePolicy>("--non-finite") { Description = "Reject or ImputeMean for null/NaN/Inf values.", DefaultValueFactory = _ => NonFinitePolicy.Reject };
        var check = new Command("check", "Score the first rows of a CSV with a stored model as the scorer would, and print the outputs next to the manifest, to compare with the exporting framework.")
        {
            name, version, store, data, rows, label, policy,
        };
        check.SetAction((parse, cancellationToken) => CliErrors.RunAsync(async () =>
        {
            var count = parse.GetValue(rows);
            if (count < 1)
            {
                throw new InvalidDataException("--rows must be at least 1.");
            }

            var modelStore = new ModelStore(parse.GetValue(store)!.FullName);
            var modelName = parse.GetValue(name)!;
            var modelVersion = parse.GetValue(version) ?? modelStore.LatestVersion(modelName)
                ?? throw new InvalidDataException($"no version of {modelName} in {modelStore.Root} (streammon models add registers one).");
            if (!modelStore.Versions(modelName).Contains(modelVersion, StringComparer.Ordinal))
            {
                throw new InvalidDataException($"{modelName} has no version {modelVersion} in {modelStore.Root} (versions: {string.Join(',', modelStore.Versions(modelName))}).");
            }

            var csv = parse.GetValue(data)!;
            if (!csv.Exists)
            {
                throw new FileNotFoundException($"{csv.FullName} does not exist.", csv.FullName);
            }

            var inputs = new List<BatchInput>();
            await foreach (var input in FileSources.CsvAsync(csv.FullName, modelName, parse.GetValue(label)!, cancellationToken))
            {
                inputs.Add(input);
                if (inputs.Count == count)
                {
                    break;
                }
            }

            var stored = modelStore.Load(modelName, modelVersion);
            var manifest = stored.Manifest;
            using var session = ModelSession.Create(stored, new SessionSettings { MaxBatchRows = Math.Max(1, inputs.Count), Provider = ExecutionProviderChoice.Cpu, IntraOpThreads = 1, QuietRuntimeLog = true }, NullLogger.Instance);
            var validator = new FeatureValidator(manifest, parse.GetValue(policy), rejectExtraFeatures: false);
            Console.WriteLine($"{manifest.Name} version {manifest.Version} (sha256 {stored.Sha256})");
            foreach (var line in ModelAddCommand.Describe(manifest, session.Signature))
            {
                Console.WriteLine("  " + line);
            }

            Console.WriteLine(manifest.FeatureMeans.Count > 0 ? "  feature means: yes" : "  feature means: none (only the Reject policy can serve it)");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{inputs.Count} row(s) of {csv.Name}, as the scorer publishes them (output: the row the scorer reads, after any sigmoid/softmax):"));

            // Each valid row goes into the next row of one batch, as the scorer batches them; the rest say why not.
            var lines = new string?[inputs.Count];
            var batchRows = new List<int>();
            for (var i = 0; i < inputs.Count; i++)
            {
                var input = inputs[i];
                if (input.Event is null)
                {
                    lines[i] = $"{input.FallbackId}  ERROR {input.ErrorCode}: {input.ErrorDetail}";
                }
                else if (validator.Fill(input.Event, session, batchRows.Count) is { } invalid)
                {
                    lines[i] = $"{input.Event.EventId}  ERROR {invalid}";
                }
                else
                {
                    batchRows.Add(i);
                }
            }

            if (batchRows.Count > 0)
            {
                session.Run(batchRows.Count);
            }

            for (var b = 0; b < batchRows.Count; b++)
            {
                var prediction = new Prediction();
                var output = session.OutputRow(b);
                OutputReader.Apply(manifest, output, prediction);
                var text = $"{inputs[batchRows[b]].Event!.EventId}  score {Number(prediction.Score!.Value)}";
                if (prediction.PredictedClass is { } predicted)
                {
                    text += $"  class {predicted}" + (predicted < manifest.ClassNames.Count ? $" ({manifest.ClassNames[predicted]})" : "");
                }

                lines[batchRows[b]] = text + $"  output [{string.Join(", ", output.ToArray().Select(v => Number(v)))}]";
            }

            foreach (var line in lines)
            {
                Console.WriteLine("  " + line);
            }

            return 0;
        }));
        return check;
    }

    /// <summary>The shortest text that reads back as the same float32 (the scorer's outputs are float32).</summary>
    private static string Number(double value) => ((float)value).ToString(CultureInfo.InvariantCulture);
}
