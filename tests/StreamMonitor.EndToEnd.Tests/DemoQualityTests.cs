namespace StreamMonitor.EndToEnd.Tests;

/// <summary>
/// Delayed-label quality through the whole demo: the aggregator's quality results (5 min windows, the alerter's quality
/// window) reach the summary as realized accuracy, and the alerter's quality SLO counts them (good = correct, total =
/// labeled, exactly the sums of the latest window revisions).
/// </summary>
[Collection(DemoRunCollection.Name)]
public sealed class DemoQualityTests(DemoRunFixture demo)
{
    [Fact]
    public void Realized_accuracy_reaches_the_summary_and_the_quality_slo()
    {
        var summary = demo.Result.Summary;
        Assert.Equal(300_000, summary.QualityWindowMs);
        var rollups = summary.Ranges.SelectMany(r => r.Quality).ToList();
        Assert.Contains(rollups, q => q.Labeled > 0);
        Assert.All(rollups, q => Assert.InRange(q.Correct, 0, q.Labeled));
        Assert.All(rollups, q => Assert.InRange(q.Labeled + q.ExpiredUnlabeled, 0, q.Predictions));
        Assert.Contains("realized quality", demo.ConsoleOutput, StringComparison.Ordinal);

        var windows = demo.Result.Results.Quality.Values.Where(w => w.WindowSizeMs == 300_000).ToList();
        var slo = demo.Result.Results.SloHistory.Where(s => s.Slo == "cancer-accuracy").ToList();
        Assert.NotEmpty(slo);
        Assert.Contains(slo, s => s.PeriodTotal > 0);

        // The SLO's period total can only count labeled predictions the aggregator reported.
        Assert.True(slo.Max(s => s.PeriodTotal) <= windows.Sum(w => w.Labeled), "the quality SLO counted more labeled predictions than the results hold");
    }
}
