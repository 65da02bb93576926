namespace StreamMonitor.Contracts;

/// <summary>A window result: the model version and event-time window it describes (<see cref="WindowKey.Stamp"/>).</summary>
public interface IWindowResult
{
    /// <summary>Model name.</summary>
    string ModelName { get; set; }

    /// <summary>Model version.</summary>
    string ModelVersion { get; set; }

    /// <summary>Window start (event time, ms).</summary>
    long WindowStartMs { get; set; }

    /// <summary>Window size (ms).</summary>
    long WindowSizeMs { get; set; }
}
