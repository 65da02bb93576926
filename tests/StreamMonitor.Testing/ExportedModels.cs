using System.Globalization;
using System.Text.Json;
using StreamMonitor.Contracts;
using Xunit;

namespace StreamMonitor.Testing;

/// <summary>
/// One model of examples/models/ (examples/models/make_models.py exported it): its file, how `streammon models add`
/// registers it, its sample rows and what its framework computed on them.
/// </summary>
public sealed record ExportedModel(
    string Name,
    string Framework,
    string FeaturesFrom,
    string Sample,
    IReadOnlyList<string> AddArgs,
    IReadOnlyList<string> EventIds,
    IReadOnlyList<double> Score,
    IReadOnlyList<int> PredictedClass,
    IReadOnlyList<IReadOnlyList<double>> Probabilities)
{
    /// <summary>
    /// How close the scorer must come to the framework: 1e-5, scaled by the value's magnitude above 1. The scorer
    /// reads outputs as float32 (as nearly every model computes them), and a float32 carries 24 bits: a regression
    /// value near 200 is only known to about 1.5e-5, whatever ran it.
    /// </summary>
    public static double Tolerance(double expected) => 1e-5 * Math.Max(1, Math.Abs(expected));

    /// <summary>Every model folder under examples/models/ (those with an expected.json).</summary>
    public static IReadOnlyList<ExportedModel> All { get; } = Directory.GetDirectories(Path.Combine(StreammonCli.RepositoryRoot, "examples", "models"))
        .Where(d => File.Exists(Path.Combine(d, "expected.json")))
        .Order(StringComparer.Ordinal)
        .Select(d => Load(Path.Combine(d, "expected.json")))
        .ToArray();

    /// <summary>The model's .onnx file.</summary>
    public string OnnxPath => Path.Combine(StreammonCli.RepositoryRoot, "examples", "models", Name, "model.onnx");

    /// <summary>The sample CSV, absolute.</summary>
    public string SamplePath => Path.Combine(StreammonCli.RepositoryRoot, Sample);

    /// <summary>The feature columns of the sample, in order (the model's input columns).</summary>
    public IReadOnlyList<string> FeatureNames => File.ReadLines(SamplePath).First().Split(',').Where(c => c is not ("event_id" or "label")).ToArray();

    /// <summary>The `streammon models add` arguments that register it into <paramref name="store"/>.</summary>
    public string[] AddArguments(string store) =>
        ["models", "add", "--store", store, "--name", Name, "--onnx", OnnxPath, "--features-from", Path.Combine(StreammonCli.RepositoryRoot, FeaturesFrom), .. AddArgs];

    /// <summary>The sample rows as feature events of this model, keyed by the sample's event ids.</summary>
    public IReadOnlyList<FeatureEvent> Events()
    {
        var lines = File.ReadAllLines(SamplePath);
        var header = lines[0].Split(',');
        var events = new List<FeatureEvent>();
        foreach (var line in lines.Skip(1).Where(l => l.Length > 0))
        {
            var cells = line.Split(',');
            var featureEvent = new FeatureEvent { EventId = cells[0], ModelName = Name, EntityId = cells[0], EventTimeMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() };
            for (var i = 1; i < header.Length; i++)
            {
                if (header[i] != "label")
                {
                    featureEvent.Features[header[i]] = double.Parse(cells[i], CultureInfo.InvariantCulture);
                }
            }

            events.Add(featureEvent);
        }

        return events;
    }

    /// <summary>Asserts that the scorer's answers for the sample rows are the framework's, within <see cref="Tolerance"/>.</summary>
    public void AssertMatches(IReadOnlyDictionary<string, (double Score, int? PredictedClass, IReadOnlyList<double> Probabilities)> actual)
    {
        for (var i = 0; i < EventIds.Count; i++)
        {
            Assert.True(actual.TryGetValue(EventIds[i], out var answer), $"{Name}: no prediction for {EventIds[i]}");
            Assert.True(Math.Abs(answer.Score - Score[i]) <= Tolerance(Score[i]), $"{Name} {EventIds[i]}: score {answer.Score.ToString("R", CultureInfo.InvariantCulture)}, {Framework} computed {Score[i].ToString("R", CultureInfo.InvariantCulture)}");
            if (PredictedClass.Count > 0)
            {
                Assert.Equal(PredictedClass[i], answer.PredictedClass);
            }

            if (Probabilities.Count > 0)
            {
                Assert.Equal(Probabilities[i].Count, answer.Probabilities.Count);
                for (var k = 0; k < Probabilities[i].Count; k++)
                {
                    Assert.True(Math.Abs(answer.Probabilities[k] - Probabilities[i][k]) <= Tolerance(Probabilities[i][k]), $"{Name} {EventIds[i]}: P(class {k}) {answer.Probabilities[k]}, {Framework} computed {Probabilities[i][k]}");
                }
            }
        }
    }

    private static ExportedModel Load(string path)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(path));
        var root = json.RootElement;
        static string[] Strings(JsonElement e) => e.EnumerateArray().Select(v => v.GetString()!).ToArray();
        return new ExportedModel(
            root.GetProperty("name").GetString()!,
            root.GetProperty("framework").GetString()!,
            root.GetProperty("features_from").GetString()!,
            root.GetProperty("sample").GetString()!,
            Strings(root.GetProperty("add_args")),
            Strings(root.GetProperty("event_ids")),
            root.GetProperty("score").EnumerateArray().Select(v => v.GetDouble()).ToArray(),
            root.GetProperty("predicted_class").EnumerateArray().Select(v => v.GetInt32()).ToArray(),
            root.GetProperty("probabilities").EnumerateArray().Select(r => (IReadOnlyList<double>)r.EnumerateArray().Select(v => v.GetDouble()).ToArray()).ToArray());
    }
}
