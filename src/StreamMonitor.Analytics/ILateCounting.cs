namespace StreamMonitor.Analytics;

/// <summary>An aggregate that counts late records attributed to it.</summary>
public interface ILateCounting
{
    /// <summary>Late records observed while this pane held the stream time.</summary>
    long LateCount { get; set; }
}
