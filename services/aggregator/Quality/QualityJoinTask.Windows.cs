using StreamMonitor.Aggregator.Topology;
using StreamMonitor.Contracts;
using StreamMonitor.Streams;

namespace StreamMonitor.Aggregator.Quality;

/// <summary>Quality windows: the idle rule, closing, emitting partials and publishing the finalisation frontier.</summary>
public sealed partial class QualityJoinTask
{
    /// <inheritdoc />
    public void OnIdle(long watermarkMs, ITaskOutput output)
    {
        ArgumentNullException.ThrowIfNull(output);

        // Caught up: what the closed windows hold now is all this partition's input says. Emitted here, not only at the
        // next update tick, which may never come when traffic pauses: otherwise the last revision of a window would
        // depend on where the tick fell among the records, that is on how the two lanes' fetches interleaved.
        FlushClosedWindows(output);

        // Joins and expiries follow this partition's own records only: expiring on other partitions' time would make
        // the results depend on consumption speed. Only a task with no unfinished window (nothing an advance could cut
        // short) lets the watermark move its frontier; a prediction for a window closed that way is late.
        var idleTime = Saturating.Subtract(watermarkMs, _settings.IdleTimeoutMs);
        if (watermarkMs == long.MinValue || _windows.Count > 0 || idleTime <= _predictionTime)
        {
            return;
        }

        _predictionTime = idleTime;
        PublishFrontier(output);
    }

    /// <summary>Finishes the closed windows with nothing pending and emits the other closed windows that changed.</summary>
    private void FlushClosedWindows(ITaskOutput output)
    {
        foreach (var window in _windows.Values.ToList())
        {
            if (IsClosed(window) && window.Pending == 0)
            {
                Finish(window, output);
            }
            else if (IsClosed(window) && window.Dirty)
            {
                EmitPartial(window, final: false, output);
            }
        }

        PublishFrontier(output);
    }

    private bool IsClosed(WindowState window) => _settings.Window.IsClosed(window.Slot.Time, _predictionTime);

    private void Finish(WindowState window, ITaskOutput output)
    {
        EmitPartial(window, final: true, output);
        _windows.Remove(window.Slot);
        _changes[WindowKey(window.Slot)] = null;
        for (var chunk = 0; chunk < window.Chunks; chunk++)
        {
            _changes[ChunkKey(window.Slot, chunk)] = null;
        }
    }

    private void EmitPartial(WindowState window, bool final, ITaskOutput output)
    {
        var separator = window.Slot.Id.IndexOf('|', StringComparison.Ordinal);
        var key = new WindowKey(WindowKind.Quality, window.Slot.Id[..separator], window.Slot.Id[(separator + 1)..], window.Slot.Time, _settings.Window.SizeMs);
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer))
        {
            window.Aggregate.WriteTo(writer);
        }

        var partition = Murmur2.Partition(PartialRecords.RoutingKey(key), _settings.Topics.ResultPartitions);
        output.Send(_settings.Topics.WindowPartials, partition, PartialRecords.PartialKey(key, _sourceId), PartialRecords.PartialValue(key, _sourceId, final, buffer.ToArray()));
        window.Dirty = false;
        _changedWindows.Add(window.Slot);
        _settings.Metrics?.PartialEmitted(WindowKind.Quality, final);
    }

    private void PublishFrontier(ITaskOutput output)
    {
        // Every window before the frontier is final here: no partial of it will ever come from this source again.
        var frontier = _predictionTime;
        if (_windows.Count > 0)
        {
            frontier = Math.Min(frontier, _settings.Window.OpenThrough(_windows.First().Key.Time));
        }

        if (frontier <= _lastFrontier)
        {
            return;
        }

        _lastFrontier = frontier;
        var key = PartialRecords.WatermarkKey(_sourceId);
        var value = PartialRecords.WatermarkValue(_sourceId, frontier);
        for (var p = 0; p < _settings.Topics.ResultPartitions; p++)
        {
            output.Send(_settings.Topics.WindowPartials, p, key, value);
        }
    }

    private sealed class WindowState((long Time, string Id) slot)
    {
        public (long Time, string Id) Slot { get; } = slot;

        public QualityAggregate Aggregate { get; } = new();

        public long Pending { get; set; }

        public bool Dirty { get; set; }

        /// <summary>List chunks written to the changelog.</summary>
        public int Chunks { get; set; }

        /// <summary>Label delays already in written chunks.</summary>
        public int WrittenDelays { get; set; }

        /// <summary>Scores already in written chunks.</summary>
        public int WrittenScores { get; set; }

        /// <summary>Regression errors already in written chunks.</summary>
        public int WrittenErrors { get; set; }
    }
}
