using System.CommandLine;
using System.Globalization;
using StreamMonitor.Models;
using StreamMonitor.Models.Store;
using StreamMonitor.Models.Training;

namespace StreamMonitor.Cli.Commands;

/// <summary>`streammon models`: build models from a data set into the model store, register models exported elsewhere, check and list them.</summary>
public static class ModelCommands
{
    /// <summary>The `models` verb with its sub-verbs.</summary>
    public static Command Create()
    {
        var models = new Command("models", "Models: train and export ONNX models into the model store, register ONNX files exported elsewhere, check and list them.");
        models.Add(CreateBuild());
        models.Add(ModelAddCommand.Create());
        models.Add(ModelCheckCommand.Create());
        models.Add(CreateList());
        return models;
    }

    private static Command CreateBuild()
    {
        var data = new Option<FileInfo>("--data") { Description = "CSV with a header row and a 0/1 label column.", Required = true };
        var store = new Option<DirectoryInfo>("--store") { Description = "Model store root.", DefaultValueFactory = _ => new DirectoryInfo("models") };
        var name = new Option<string>("--name") { Description = "Model name.", Required = true };
        var version = new Option<string>("--version") { Description = "Version folder name.", DefaultValueFactory = _ => "1" };
        var kind = new Option<string>("--kind") { Description = "lr (logistic regression) or mlp.", DefaultValueFactory = _ => "lr" };
        kind.AcceptOnlyFromAmong("lr", "mlp");
        var hidden = new Option<string>("--hidden") { Description = "Hidden layer widths for mlp, e.g. 256,256 (1024,1024,1024 is the benchmark's heavy model).", DefaultValueFactory = _ => "64,32" };
        var epochs = new Option<int>("--epochs") { Description = "Passes over the training split.", DefaultValueFactory = _ => 200 };
        var batch = new Option<int>("--batch-size") { Description = "Mini-batch rows.", DefaultValueFactory = _ => 32 };
        var rate = new Option<double>("--learning-rate") { Description = "Adam step size.", DefaultValueFactory = _ => 1e-3 };
        var l2 = new Option<double>("--l2") { Description = "L2 penalty on weights.", DefaultValueFactory = _ => 1e-4 };
        var seed = new Option<int>("--seed") { Description = "Seed of the split, initialisation and shuffling.", DefaultValueFactory = _ => 42 };
        var heldOut = new Option<double>("--held-out") { Description = "Share of rows held out (stratified).", DefaultValueFactory = _ => 0.2 };
        var label = new Option<string>("--label") { Description = "Label column.", DefaultValueFactory = _ => "label" };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace an existing version." };
        var build = new Command("build", "Train a model with a seeded stratified split, export it as ONNX and write models/<name>/<version>/{model.onnx, model.json, train.csv, heldout.csv}.")
        {
            data, store, name, version, kind, hidden, epochs, batch, rate, l2, seed, heldOut, label, overwrite,
        };
        build.SetAction(parse =>
        {
            int[] widths;
            try
            {
                widths = parse.GetValue(kind) == "mlp"
                    ? parse.GetValue(hidden)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(w => int.Parse(w, CultureInfo.InvariantCulture)).ToArray()
                    : [];
            }
            catch (FormatException)
            {
                Console.Error.WriteLine($"--hidden expects comma-separated integers, got '{parse.GetValue(hidden)}'.");
                return 2;
            }

            if (widths.Any(w => w < 1) || parse.GetValue(epochs) < 1 || parse.GetValue(batch) < 1)
            {
                Console.Error.WriteLine("--hidden widths, --epochs and --batch-size must be positive.");
                return 2;
            }

            var request = new ModelBuildRequest
            {
                DataPath = parse.GetValue(data)!.FullName,
                StoreRoot = parse.GetValue(store)!.FullName,
                Name = parse.GetValue(name)!,
                Version = parse.GetValue(version)!,
                Kind = parse.GetValue(kind)!,
                LabelColumn = parse.GetValue(label)!,
                HeldOutFraction = parse.GetValue(heldOut),
                Overwrite = parse.GetValue(overwrite),
                Settings = new TrainingSettings
                {
                    Hidden = widths,
                    Epochs = parse.GetValue(epochs),
                    BatchSize = parse.GetValue(batch),
                    LearningRate = parse.GetValue(rate),
                    L2 = parse.GetValue(l2),
                    Seed = parse.GetValue(seed),
                },
            };
            var totalEpochs = request.Settings.Epochs;
            var progress = new Progress<(int Epoch, double Loss)>(p =>
            {
                if (p.Epoch == 1 || p.Epoch == totalEpochs || p.Epoch % Math.Max(1, totalEpochs / 10) == 0)
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"epoch {p.Epoch}/{totalEpochs}: training log-loss {p.Loss:F5}"));
                }
            });
            ModelBuildResult result;
            try
            {
                result = ModelBuilder.Build(request, progress);
            }
            catch (Exception ex) when (ex is IOException or InvalidDataException or ArgumentException)
            {
                Console.Error.WriteLine(ex.Message);
                return 1;
            }

            var training = result.Manifest.Training!;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Wrote {result.Directory}: {training.Kind} [{string.Join(',', training.Hidden)}], {result.Manifest.Features.Count} features, sha256 {result.Manifest.OnnxSha256}"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Accuracy: train {training.TrainAccuracy:F4} ({training.TrainRows} rows), held-out {training.HeldOutAccuracy:F4} ({training.HeldOutRows} rows)"));
            return 0;
        });
        return build;
    }

    private static Command CreateList()
    {
        var store = new Option<DirectoryInfo>("--store") { Description = "Model store root.", DefaultValueFactory = _ => new DirectoryInfo("models") };
        var list = new Command("list", "List the models and versions in the store with their hash and held-out accuracy.") { store };
        list.SetAction(parse => CliErrors.Run(() =>
        {
            var modelStore = new ModelStore(parse.GetValue(store)!.FullName);
            foreach (var name in modelStore.ModelNames())
            {
                foreach (var version in modelStore.Versions(name))
                {
                    var model = modelStore.Load(name, version);
                    var accuracy = model.Manifest.Training?.HeldOutAccuracy.ToString("F4", CultureInfo.InvariantCulture) ?? "-";
                    Console.WriteLine($"{name}\t{version}\t{model.Manifest.Training?.Kind ?? "-"}\t{model.Sha256}\theld-out accuracy {accuracy}");
                }
            }

            return 0;
        }));
        return list;
    }
}
