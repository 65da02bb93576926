using StreamMonitor.Analytics.Drift;
using StreamMonitor.Demo;
using StreamMonitor.Models;
using StreamMonitor.Models.Inference;
using StreamMonitor.Models.Training;
using StreamMonitor.Traffic;
using Xunit.Abstractions;

namespace StreamMonitor.EndToEnd.Tests;

/// <summary>
/// The demo's drift decision (<see cref="DemoSettings.DriftThresholds"/>) on the demo's own traffic, without the stack:
/// the demo's model and the reference profile of its training split (with the model's scores), the traffic plan over its
/// held-out rows scored by the model, the 5 min windows the
/// summary reads, over many window alignments (a demo starts at any time of day) and seeds (the seed also picks the
/// split). A normal-phase window must never flag a feature; every shifted feature must be flagged in the drift phase.
/// </summary>
public sealed class DemoDriftDecisionTests(ITestOutputHelper output)
{
    private const long WindowMs = 300_000;

    [Fact]
    public void The_demo_flags_no_feature_in_normal_phase_windows_and_every_shifted_feature_in_the_drift_phase_for_any_alignment()
    {
        var thresholds = DemoSettings.DriftThresholds;
        var shifted = new DriftOptions().Features;
        var directory = Directory.CreateTempSubdirectory("streammon-demo-drift-");
        try
        {
            int normalWindows = 0, normalFlagged = 0, runs = 0, runsMissingAShift = 0, driftWindows = 0;
            var closest = double.MaxValue;
            var weakestShift = double.MaxValue;
            var falseFlags = new List<string>();
            foreach (var seed in new[] { 42, 1, 2, 3 })
            {
                // The demo's model v1, split (20 % held out, stratified by the seed) and reference profile with scores.
                var built = ModelBuilder.Build(new ModelBuildRequest
                {
                    DataPath = RepoPaths.DataSet,
                    StoreRoot = Path.Combine(directory.FullName, $"models-{seed}"),
                    Name = "cancer",
                    Version = "1",
                    Kind = "mlp",
                    Overwrite = true,
                    Settings = new TrainingSettings { Seed = seed, Hidden = DemoModels.LightHidden },
                });
                var trainCsv = Path.Combine(directory.FullName, $"train-{seed}.csv");
                var heldOutCsv = Path.Combine(directory.FullName, $"heldout-{seed}.csv");
                built.Train.WriteCsv(trainCsv);
                built.HeldOut.WriteCsv(heldOutCsv);
                var profile = DemoModels.WithScoreReference(ProfileBuilder.FromCsv(trainCsv, "cancer", ["label"]), built.Manifest, built.Network, built.Train);
                var rows = Dataset.LoadCsv(heldOutCsv);
                double Score(IReadOnlyDictionary<string, double?> features)
                {
                    var input = built.Manifest.Features.Select(f => (float)(features[f] ?? 0)).ToArray();
                    var prediction = new Contracts.Prediction();
                    OutputReader.Apply(built.Manifest, built.Network.Forward(input, 1), prediction);
                    return prediction.Score!.Value;
                }
                foreach (var duration in new[] { 75.0, 180.0 })
                {
                    for (var alignment = 0; alignment < 12; alignment++)
                    {
                        var options = new TrafficOptions
                        {
                            ModelName = "cancer",
                            RatePerSecond = 50,
                            Duration = TimeSpan.FromSeconds(duration),
                            TimeCompression = 60,
                            Seed = seed,
                            StartTimeMs = new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds() + (alignment * 31_337),
                        };
                        var plan = new TrafficPlan(options, rows);
                        var windows = new SortedDictionary<long, DriftAggregate>();
                        foreach (var record in plan.Records())
                        {
                            if (record.Feature is not { } feature)
                            {
                                continue;
                            }

                            var start = Math.DivRem(feature.EventTimeMs, WindowMs, out var rem) * WindowMs - (rem < 0 ? WindowMs : 0);
                            if (!windows.TryGetValue(start, out var window))
                            {
                                windows[start] = window = new DriftAggregate(profile);
                            }

                            window.Count++;
                            for (var i = 0; i < profile.Numeric.Count; i++)
                            {
                                window.Numeric[i].Add(profile.Numeric[i], feature.Features[profile.Numeric[i].Name]);
                            }

                            window.Score!.Add(profile.Score!, Score(feature.Features));
                        }

                        var normal = plan.Phases.Single(p => p.Kind == PhaseKind.Normal);
                        var drift = plan.Phases.Single(p => p.Kind == PhaseKind.FeatureDrift);
                        var flaggedInDrift = new HashSet<string>(StringComparer.Ordinal);
                        var strongest = new Dictionary<string, double>(StringComparer.Ordinal);
                        foreach (var (start, window) in windows)
                        {
                            var features = DriftStatistics.Window(profile, window, thresholds).Features;
                            if (normal.ContainsEventTime(start))
                            {
                                normalWindows++;
                                normalFlagged += features.Any(f => f.Drifted) ? 1 : 0;
                                falseFlags.AddRange(features.Where(f => f.Drifted).Select(f => $"{f.Feature} (W {f.WassersteinNormed:F3}, KS p {f.KsPValue:G2}, n {f.Count})"));
                                closest = Math.Min(closest, features.Min(f => thresholds.WassersteinNormed - (f.WassersteinNormed ?? 0)));
                            }
                            else if (drift.ContainsEventTime(start))
                            {
                                driftWindows++;
                                flaggedInDrift.UnionWith(features.Where(f => f.Drifted).Select(f => f.Feature));
                                foreach (var f in features.Where(f => shifted.Contains(f.Feature)))
                                {
                                    strongest[f.Feature] = Math.Max(strongest.GetValueOrDefault(f.Feature), f.WassersteinNormed ?? 0);
                                }
                            }
                        }

                        runs++;
                        runsMissingAShift += shifted.All(flaggedInDrift.Contains) ? 0 : 1;
                        weakestShift = Math.Min(weakestShift, strongest.Values.Min());
                    }
                }
            }

            output.WriteLine($"{runs} simulated demo runs: {normalFlagged}/{normalWindows} normal-phase 5 min windows flagged a feature; {runsMissingAShift} runs missed a shifted feature in their {driftWindows} drift-phase windows; the largest normal-phase normed Wasserstein stayed {closest:F3} below the threshold {thresholds.WassersteinNormed}; every run's weakest shifted feature reached at least {weakestShift:F3} in its strongest drift-phase window; false flags: {string.Join("; ", falseFlags)}");
            Assert.Equal(0, normalFlagged);
            Assert.Equal(0, runsMissingAShift);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
