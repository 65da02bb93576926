namespace StreamMonitor.Analytics;

/// <summary>Window state that can absorb another instance of itself exactly (counts, histograms).</summary>
public interface IMergeable<in T>
{
    /// <summary>Adds <paramref name="other"/> into this instance.</summary>
    void MergeFrom(T other);
}
