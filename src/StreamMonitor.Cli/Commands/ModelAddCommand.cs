using System.CommandLine;
using System.Globalization;
using StreamMonitor.Contracts;
using StreamMonitor.Models.Inference;
using StreamMonitor.Models.Store;

namespace StreamMonitor.Cli.Commands;

/// <summary>`streammon models add`: registers an ONNX file exported elsewhere (torch, scikit-learn, XGBoost, ...) as a model version.</summary>
public static class ModelAddCommand
{
    /// <summary>The `add` sub-verb.</summary>
    public static Command Create()
    {
        var onnx = new Option<FileInfo>("--onnx") { Description = "The .onnx file to register.", Required = true };
        var name = new Option<string>("--name") { Description = "Model name (the model_name of its feature events).", Required = true };
        var version = new Option<string?>("--version") { Description = "Version (default: one more than the newest numeric version, 1 for a new model)." };
        var store = new Option<DirectoryInfo>("--store") { Description = "Model store root.", DefaultValueFactory = _ => new DirectoryInfo("models") };
        var features = new Option<string?>("--features") { Description = "Feature names in input column order, comma-separated." };
        var featuresFrom = new Option<FileInfo?>("--features-from") { Description = "CSV with a header row: its feature columns name the features (unless --features does) and give the feature means the ImputeMean policy needs; without it only the Reject policy can serve the model." };
        var label = new Option<string>("--label") { Description = "Label column of --features-from (not a feature).", DefaultValueFactory = _ => "label" };
        var input = new Option<string?>("--input") { Description = "Input to feed (default: the model's only input)." };
        var output = new Option<string?>("--output") { Description = "Output to read the scores from (default: the only probabilities or score output)." };
        var kind = new Option<string?>("--kind") { Description = "binary, multiclass or regression (default: detected from the output's shape when unambiguous)." };
        kind.AcceptOnlyFromAmong("binary", "multiclass", "regression");
        var logits = new Option<bool>("--logits") { Description = "The output holds logits: the scorer applies a sigmoid (one column) or a softmax (several)." };
        var threshold = new Option<double?>("--threshold") { Description = "Binary models: probability at or above which the predicted class is 1 (default 0.5)." };
        var classes = new Option<string?>("--classes") { Description = "Class names in output column order, comma-separated (binary: negative,positive; a ZipMap's are its keys)." };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace an existing version." };
        var add = new Command("add", "Register an existing ONNX file as a model version: reads its input and output with ONNX Runtime, writes model.json (hash included) and checks that it runs as the scorer will run it.")
        {
            onnx, name, version, store, features, featuresFrom, label, input, output, kind, logits, threshold, classes, overwrite,
        };
        add.SetAction(parse => CliErrors.Run(() =>
        {
            var result = ModelRegistration.Register(new ModelRegistrationRequest
            {
                OnnxPath = parse.GetValue(onnx)!.FullName,
                StoreRoot = parse.GetValue(store)!.FullName,
                Name = parse.GetValue(name)!,
                Version = parse.GetValue(version),
                Features = List(parse.GetValue(features)),
                FeaturesFrom = parse.GetValue(featuresFrom)?.FullName,
                LabelColumn = parse.GetValue(label)!,
                InputName = parse.GetValue(input),
                OutputName = parse.GetValue(output),
                Kind = parse.GetValue(kind) switch
                {
                    "binary" => OutputKind.BINARY_PROBABILITY,
                    "multiclass" => OutputKind.MULTICLASS_PROBABILITIES,
                    "regression" => OutputKind.REGRESSION,
                    _ => null,
                },
                Logits = parse.GetValue(logits),
                DecisionThreshold = parse.GetValue(threshold),
                ClassNames = List(parse.GetValue(classes)),
                Overwrite = parse.GetValue(overwrite),
            });
            var manifest = result.Manifest;
            Console.WriteLine($"Registered {manifest.Name} version {manifest.Version} in {result.Directory} (sha256 {manifest.OnnxSha256})");
            foreach (var line in Describe(manifest, result.Signature))
            {
                Console.WriteLine("  " + line);
            }

            Console.WriteLine(result.MeanRows > 0
                ? string.Create(CultureInfo.InvariantCulture, $"  feature means from {result.MeanRows} rows of {parse.GetValue(featuresFrom)!.Name}")
                : "  no feature means (no --features-from): only the Reject policy can serve it");
            Console.WriteLine($"Compare its outputs with your framework's before going live: streammon models check {manifest.Name} --store {parse.GetValue(store)!.FullName} --data ROWS.csv");
            return 0;
        }));
        return add;
    }

    /// <summary>What the scorer feeds and reads, one line each, for `models add` and `models check`.</summary>
    internal static IEnumerable<string> Describe(ModelManifest manifest, ModelSignature signature)
    {
        var features = manifest.Features.Count <= 6 ? string.Join(',', manifest.Features) : $"{string.Join(',', manifest.Features.Take(3))},...,{manifest.Features[^1]}";
        yield return $"input   '{signature.InputName}': {signature.InputDescription}, {manifest.Features.Count} features ({features})";
        var reading = manifest.OutputKind switch
        {
            OutputKind.BINARY_PROBABILITY => string.Create(CultureInfo.InvariantCulture, $"binary, score = P(class 1){(manifest.OutputWidth == 2 ? " = column 1" : "")}, threshold {manifest.DecisionThreshold}"),
            OutputKind.MULTICLASS_PROBABILITIES => $"multiclass over {manifest.OutputWidth} classes, score = top probability",
            _ => "regression, score = the value",
        };
        yield return $"output  '{signature.OutputName}': {signature.OutputDescription}, {reading}{(manifest.Logits ? ", logits (sigmoid/softmax applied)" : "")}"
            + (manifest.ClassNames.Count > 0 ? $", classes {string.Join(',', manifest.ClassNames)}" : "");
        if (signature.Layout == OutputLayout.ZipMap)
        {
            yield return "          a ZipMap: read map by map, allocating on every run (export with zipmap=False for the allocation-free path)";
        }

        if (manifest.LabelOutputName is { } labelOutput)
        {
            yield return $"label   '{labelOutput}' is not read: the predicted class comes from the probabilities";
        }

        yield return signature.FixedBatch > 0
            ? $"batch   fixed at {signature.FixedBatch} row(s) in the graph: each batch runs as {signature.FixedBatch}-row chunks, the last one padded"
            : "batch   dynamic";
    }

    private static string[]? List(string? text) =>
        text?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
}
