using StreamMonitor.Contracts;

namespace StreamMonitor.Aggregator.Quality;

/// <summary>Checkpoint snapshot (versioned) and changelog entries: writing what changed, restoring what was checkpointed.</summary>
public sealed partial class QualityJoinTask
{
    /// <inheritdoc />
    public byte[] Snapshot()
    {
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer))
        {
            foreach (var counter in (long[])[StreamTime, _predictionTime, _lastTick, _lastFrontier, Malformed, Late, ErrorPredictions, Duplicates, LabelsUnknown, LabelsExpired])
            {
                writer.Write(counter);
            }

            // Version 2 appends the repartition dedupe table; version 1 (the ten counters alone) is read as an empty table.
            writer.Write(SnapshotVersion);
            writer.Write(RepartitionDuplicates);
            writer.Write(_appliedSourceOffsets.Count);
            foreach (var (partition, offset) in _appliedSourceOffsets)
            {
                writer.Write(partition);
                writer.Write(offset);
            }
        }

        return buffer.ToArray();
    }

    /// <inheritdoc />
    public IReadOnlyCollection<KeyValuePair<string, byte[]?>> TakeChanges()
    {
        foreach (var slot in _changedWindows)
        {
            // A finished window recorded its deletions when it was dropped.
            if (_windows.TryGetValue(slot, out var window))
            {
                var delays = window.Aggregate.DelaysMs;
                var scores = window.Aggregate.Scores;
                var errors = window.Aggregate.Errors;
                if (delays.Count > window.WrittenDelays || scores.Count > window.WrittenScores || errors.Count > window.WrittenErrors)
                {
                    // Only what was appended since the last checkpoint: a window's lists are written once, in chunks.
                    _changes[ChunkKey(slot, window.Chunks)] = Encode(writer =>
                    {
                        writer.Write(slot.Time);
                        writer.Write(slot.Id);
                        writer.Write(window.Chunks);
                        QualityAggregate.WriteLists(writer, delays.GetRange(window.WrittenDelays, delays.Count - window.WrittenDelays), scores.GetRange(window.WrittenScores, scores.Count - window.WrittenScores), errors.GetRange(window.WrittenErrors, errors.Count - window.WrittenErrors));
                    });
                    window.Chunks++;
                    window.WrittenDelays = delays.Count;
                    window.WrittenScores = scores.Count;
                    window.WrittenErrors = errors.Count;
                }

                _changes[WindowKey(slot)] = Encode(writer =>
                {
                    writer.Write(slot.Time);
                    writer.Write(slot.Id);
                    writer.Write(window.Pending);
                    writer.Write(window.Dirty);
                    writer.Write(window.Chunks);
                    window.Aggregate.WriteCountsTo(writer);
                });
            }
        }

        _changedWindows.Clear();
        var changes = _changes.ToList();
        _changes.Clear();
        return changes;
    }

    private void Restore(byte[] state)
    {
        using var reader = new BinaryReader(new MemoryStream(state, writable: false));
        StreamTime = reader.ReadInt64();
        _predictionTime = reader.ReadInt64();
        _lastTick = reader.ReadInt64();
        _lastFrontier = reader.ReadInt64();
        Malformed = reader.ReadInt64();
        Late = reader.ReadInt64();
        ErrorPredictions = reader.ReadInt64();
        Duplicates = reader.ReadInt64();
        LabelsUnknown = reader.ReadInt64();
        LabelsExpired = reader.ReadInt64();
        if (reader.BaseStream.Position == reader.BaseStream.Length)
        {
            return;
        }

        var version = reader.ReadInt32();
        if (version != SnapshotVersion)
        {
            throw new InvalidDataException($"Quality join snapshot version {version} is not {SnapshotVersion}.");
        }

        RepartitionDuplicates = reader.ReadInt64();
        for (var count = reader.ReadInt32(); count > 0; count--)
        {
            _appliedSourceOffsets[reader.ReadInt32()] = reader.ReadInt64();
        }
    }

    private void RestoreEntries(IReadOnlyDictionary<string, byte[]> entries)
    {
        var chunks = new List<((long Time, string Id) Slot, int Index, byte[] Value, int Lists)>();
        foreach (var (key, value) in entries)
        {
            using var reader = new BinaryReader(new MemoryStream(value, writable: false));
            var id = key[1..];
            switch (key[0])
            {
                case PendingPrefix:
                    var slot = (reader.ReadInt64(), reader.ReadString());
                    var eventTime = reader.ReadInt64();
                    var kind = (OutputKind)reader.ReadInt32();
                    var score = reader.ReadDouble();
                    var predictedClass = reader.ReadInt32();
                    _pending[id] = new PendingPrediction(slot, eventTime, kind, score, predictedClass == int.MinValue ? null : predictedClass);
                    _pendingByTime.Add((eventTime, id));
                    break;
                case LabelPrefix:
                    var label = new WaitingLabel(reader.ReadInt64(), reader.ReadDouble(), reader.ReadInt32(), reader.ReadInt64(), reader.ReadBytes(reader.ReadInt32()));
                    _waiting[id] = label;
                    _waitingByTime.Add((label.LabelTimeMs, id));
                    break;
                case ResolvedPrefix:
                    var status = (Resolution)reader.ReadByte();
                    var forgetAt = reader.ReadInt64();
                    _resolved[id] = (status, forgetAt);
                    _resolvedByTime.Add((forgetAt, id));
                    break;
                case WindowPrefix:
                    var windowSlot = (reader.ReadInt64(), reader.ReadString());
                    var window = new WindowState(windowSlot) { Pending = reader.ReadInt64(), Dirty = reader.ReadBoolean(), Chunks = reader.ReadInt32() };
                    window.Aggregate.MergeFrom(QualityAggregate.ReadCountsFrom(reader));
                    _windows[windowSlot] = window;
                    break;
                case ChunkPrefix:
                    chunks.Add(((reader.ReadInt64(), reader.ReadString()), reader.ReadInt32(), value, (int)reader.BaseStream.Position));
                    break;
                default:
                    throw new InvalidDataException($"Unknown quality changelog entry '{key}'.");
            }
        }

        // Lists in the order they grew: chunk by chunk.
        foreach (var chunk in chunks.OrderBy(c => c.Slot, ByTime).ThenBy(c => c.Index))
        {
            if (!_windows.TryGetValue(chunk.Slot, out var window) || chunk.Index >= window.Chunks)
            {
                throw new InvalidDataException($"Quality changelog chunk {chunk.Index} of window {chunk.Slot} has no window entry.");
            }

            using var reader = new BinaryReader(new MemoryStream(chunk.Value, chunk.Lists, chunk.Value.Length - chunk.Lists, writable: false));
            window.Aggregate.ReadListsFrom(reader);
        }

        foreach (var window in _windows.Values)
        {
            window.WrittenDelays = window.Aggregate.DelaysMs.Count;
            window.WrittenScores = window.Aggregate.Scores.Count;
            window.WrittenErrors = window.Aggregate.Errors.Count;
        }
    }
}
