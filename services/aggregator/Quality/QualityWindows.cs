using StreamMonitor.Aggregator.Topology;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.Time;
using StreamMonitor.Streams;

namespace StreamMonitor.Aggregator.Quality;

/// <summary>
/// The quality join's windows: tumbling windows of prediction event time (<see cref="QualitySettings.Window"/>, which
/// owns their close), closing on the prediction stream time. A closed window with nothing pending is finished (its final
/// partial emitted, its state dropped); a closed window that changed is emitted as a provisional partial. The published
/// watermark is the finalisation frontier min(prediction stream time, <see cref="WindowSpec.OpenThrough"/> of the
/// earliest unfinished window). Window counts and appended list chunks are changelog entries.
/// </summary>
internal sealed class QualityWindows(QualitySettings settings, string sourceId, JoinProgress progress, Dictionary<string, byte[]?> changes)
{
    private readonly SortedDictionary<(long Time, string Id), QualityWindow> _windows = new(QualityChangelogCodec.ByTime);
    private readonly HashSet<(long Time, string Id)> _changed = [];
    private readonly List<((long Time, string Id) Slot, int Index, byte[] Value, int Lists)> _restoredChunks = [];

    /// <summary>Unfinished windows held.</summary>
    public int Count => _windows.Count;

    /// <summary>The window of <paramref name="slot"/>, opened when new.</summary>
    public QualityWindow Open((long Time, string Id) slot)
    {
        if (!_windows.TryGetValue(slot, out var window))
        {
            window = new QualityWindow(slot);
            _windows[slot] = window;
        }

        return window;
    }

    /// <summary>The unfinished window of <paramref name="slot"/>.</summary>
    public QualityWindow this[(long Time, string Id) slot] => _windows[slot];

    /// <summary>Marks a window changed: its entries are written at the next checkpoint, its partial at the next flush.</summary>
    public void Touch(QualityWindow window)
    {
        window.Dirty = true;
        _changed.Add(window.Slot);
    }

    /// <summary>A prediction of <paramref name="window"/> was joined or expired: finishes the window when it was the last one pending after its close.</summary>
    public void Settle(QualityWindow window, ITaskOutput output)
    {
        window.Pending--;
        Touch(window);
        if (window.Pending == 0 && IsClosed(window))
        {
            Finish(window, output);
            PublishFrontier(output);
        }
    }

    /// <summary>
    /// The task is caught up: flushes the closed windows and, when no window is unfinished, raises the prediction stream
    /// time to the process watermark minus the idle timeout, publishing the frontier it moves.
    /// </summary>
    public void OnIdle(long watermarkMs, ITaskOutput output)
    {
        // Caught up: what the closed windows hold now is all this partition's input says. Emitted here, not only at the
        // next update tick, which may never come when traffic pauses: otherwise the last revision of a window would
        // depend on where the tick fell among the records, that is on how the two lanes' fetches interleaved.
        FlushClosed(output);

        // Joins and expiries follow this partition's own records only: expiring on other partitions' time would make
        // the results depend on consumption speed. Only a task with no unfinished window (nothing an advance could cut
        // short) lets the watermark move its frontier; a prediction for a window closed that way is late.
        var raised = new IdleRule(settings.IdleTimeoutMs).Raise(progress.PredictionTime, watermarkMs);
        if (_windows.Count > 0 || raised == progress.PredictionTime)
        {
            return;
        }

        progress.PredictionTime = raised;
        PublishFrontier(output);
    }

    /// <summary>Finishes the closed windows with nothing pending and emits the other closed windows that changed.</summary>
    public void FlushClosed(ITaskOutput output)
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

    /// <summary>Publishes the finalisation frontier to every partials partition when it advanced.</summary>
    public void PublishFrontier(ITaskOutput output)
    {
        // Every window before the frontier is final here: no partial of it will ever come from this source again.
        var frontier = progress.PredictionTime;
        if (_windows.Count > 0)
        {
            frontier = Math.Min(frontier, settings.Window.OpenThrough(_windows.First().Key.Time));
        }

        if (frontier <= progress.LastFrontier)
        {
            return;
        }

        progress.LastFrontier = frontier;
        var key = PartialRecords.WatermarkKey(sourceId);
        var value = PartialRecords.WatermarkValue(sourceId, frontier);
        for (var p = 0; p < settings.Topics.ResultPartitions; p++)
        {
            output.Send(settings.Topics.WindowPartials, p, key, value);
        }
    }

    /// <summary>Records the changed windows' entries: their counts, and what their lists appended since the last checkpoint.</summary>
    public void TakeChanges()
    {
        foreach (var slot in _changed)
        {
            // A finished window recorded its deletions when it was dropped.
            if (!_windows.TryGetValue(slot, out var window))
            {
                continue;
            }

            var (lengths, written) = (window.Lengths, window.Written);
            if (lengths != written)
            {
                // Only what was appended since the last checkpoint: a window's lists are written once, in chunks.
                var aggregate = window.Aggregate;
                changes[QualityChangelogCodec.ChunkKey(slot, window.Chunks)] = QualityChangelogCodec.Bytes(writer =>
                {
                    writer.Write(slot.Time);
                    writer.Write(slot.Id);
                    writer.Write(window.Chunks);
                    QualityAggregate.WriteLists(writer, aggregate.DelaysMs[written.Delays..], aggregate.Scores[written.Scores..], aggregate.Errors[written.Errors..]);
                });
                window.Chunks++;
                window.Written = lengths;
            }

            changes[QualityChangelogCodec.WindowKey(slot)] = QualityChangelogCodec.Bytes(writer =>
            {
                writer.Write(slot.Time);
                writer.Write(slot.Id);
                writer.Write(window.Pending);
                writer.Write(window.Dirty);
                writer.Write(window.Chunks);
                window.Aggregate.WriteCountsTo(writer);
            });
        }

        _changed.Clear();
    }

    /// <summary>Restores one changelog entry of a window; false when the key is not one of its kinds.</summary>
    public bool Restore(string key, byte[] value)
    {
        using var reader = QualityChangelogCodec.Reader(value);
        switch (key[0])
        {
            case QualityChangelogCodec.WindowPrefix:
                var slot = (reader.ReadInt64(), reader.ReadString());
                var window = new QualityWindow(slot) { Pending = reader.ReadInt64(), Dirty = reader.ReadBoolean(), Chunks = reader.ReadInt32() };
                window.Aggregate.MergeFrom(QualityAggregate.ReadCountsFrom(reader));
                _windows[slot] = window;
                return true;
            case QualityChangelogCodec.ChunkPrefix:
                _restoredChunks.Add(((reader.ReadInt64(), reader.ReadString()), reader.ReadInt32(), value, (int)reader.BaseStream.Position));
                return true;
            default:
                return false;
        }
    }

    /// <summary>After every entry is restored: appends the chunks to their windows' lists, in the order they grew.</summary>
    public void CompleteRestore()
    {
        foreach (var chunk in _restoredChunks.OrderBy(c => c.Slot, QualityChangelogCodec.ByTime).ThenBy(c => c.Index))
        {
            if (!_windows.TryGetValue(chunk.Slot, out var window) || chunk.Index >= window.Chunks)
            {
                throw new InvalidDataException($"Quality changelog chunk {chunk.Index} of window {chunk.Slot} has no window entry.");
            }

            using var reader = QualityChangelogCodec.Reader(chunk.Value, chunk.Lists);
            window.Aggregate.ReadListsFrom(reader);
        }

        _restoredChunks.Clear();
        foreach (var window in _windows.Values)
        {
            window.Written = window.Lengths;
        }
    }

    private bool IsClosed(QualityWindow window) => settings.Window.IsClosed(window.Slot.Time, progress.PredictionTime);

    private void Finish(QualityWindow window, ITaskOutput output)
    {
        EmitPartial(window, final: true, output);
        _windows.Remove(window.Slot);
        changes[QualityChangelogCodec.WindowKey(window.Slot)] = null;
        for (var chunk = 0; chunk < window.Chunks; chunk++)
        {
            changes[QualityChangelogCodec.ChunkKey(window.Slot, chunk)] = null;
        }
    }

    private void EmitPartial(QualityWindow window, bool final, ITaskOutput output)
    {
        var key = ModelKey.Parse(window.Slot.Id).Window(WindowKind.Quality, window.Slot.Time, settings.Window.SizeMs);
        var state = QualityChangelogCodec.Bytes(writer => QualityAggregate.Codec.Write(writer, window.Aggregate));
        var partition = Murmur2.Partition(PartialRecords.RoutingKey(key), settings.Topics.ResultPartitions);
        output.Send(settings.Topics.WindowPartials, partition, PartialRecords.PartialKey(key, sourceId), PartialRecords.PartialValue(key, sourceId, final, state));
        window.Dirty = false;
        _changed.Add(window.Slot);
        settings.Metrics?.PartialEmitted(WindowKind.Quality, final);
    }
}
