namespace StreamMonitor.Aggregator.Quality;

/// <summary>One unfinished quality window of a join task: its aggregate, what is pending in it, what the changelog holds.</summary>
internal sealed class QualityWindow((long Time, string Id) slot)
{
    /// <summary>(window start, "model|version").</summary>
    public (long Time, string Id) Slot { get; } = slot;

    /// <summary>The window's partial aggregate.</summary>
    public QualityAggregate Aggregate { get; } = new();

    /// <summary>Predictions of the window still waiting for a label.</summary>
    public long Pending { get; set; }

    /// <summary>Changed since its last partial.</summary>
    public bool Dirty { get; set; }

    /// <summary>List chunks written to the changelog.</summary>
    public int Chunks { get; set; }

    /// <summary>Lengths of the aggregate's lists (label delays, scores, regression errors) already in written chunks.</summary>
    public (int Delays, int Scores, int Errors) Written { get; set; }

    /// <summary>The lists' lengths now, to compare with <see cref="Written"/>.</summary>
    public (int Delays, int Scores, int Errors) Lengths => (Aggregate.DelaysMs.Count, Aggregate.Scores.Count, Aggregate.Errors.Count);
}
