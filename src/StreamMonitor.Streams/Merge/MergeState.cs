using StreamMonitor.Contracts;
using StreamMonitor.Contracts.State;
using StreamMonitor.Contracts.Time;

namespace StreamMonitor.Streams;

/// <summary>What a <see cref="MergeStageTask"/> holds, and checkpoints: its windows, its sources and its counters.</summary>
internal sealed class MergeState
{
    /// <summary>Partials ignored as replayed duplicates of complete windows.</summary>
    public long Duplicates { get; set; }

    /// <summary>Partials that arrived after their window's retention, dead-lettered.</summary>
    public long Expired { get; set; }

    /// <summary>
    /// Per source its watermark and whether it announced itself idle: stage A applied the idle rule, so the merge takes
    /// idleness from the announcements alone (span 0).
    /// </summary>
    public LaneWatermarks Sources { get; } = new(new IdleRule(0));

    /// <summary>Per source, the latest close of a window dropped while that source was idle.</summary>
    public Dictionary<string, long> ExpiredThrough { get; } = new(StringComparer.Ordinal);

    /// <summary>The windows held, by their text key.</summary>
    public SortedDictionary<string, MergeWindow> Windows { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// The checkpoint format, behind the <see cref="TaskState"/> header: counters, watermarks, windows with their
    /// partials, idle sources, expiries. Version 0 is the same layout stored before the header; the oldest of those end
    /// after the windows. A restore drops the windows <paramref name="covers"/> refuses.
    /// </summary>
    /// <param name="covers">Whether a builder can still build a window (false for a topology or profile configured away).</param>
    public static IStateCodec<MergeState> Codec(Func<WindowKey, bool> covers) => new Format(covers);

    private sealed class Format(Func<WindowKey, bool> covers) : IStateCodec<MergeState>
    {
        public byte Version => 1;

        public byte OldestVersion => 0;

        public void Write(BinaryWriter writer, MergeState value)
        {
            writer.Write(value.Duplicates);
            writer.Write(value.Expired);
            var watermarks = value.Sources.Lanes.Where(l => l.Position is not null).OrderBy(l => l.Name, StringComparer.Ordinal).ToList();
            writer.Write(watermarks.Count);
            foreach (var source in watermarks)
            {
                writer.Write(source.Name);
                writer.Write(source.Position!.Value);
            }

            writer.Write(value.Windows.Count);
            foreach (var window in value.Windows.Values)
            {
                writer.Write(window.Key.ToString());
                writer.Write(window.Emitted);
                writer.Write(window.Dirty);
                writer.Write(window.Partials.Count);
                foreach (var (source, partial) in window.Partials)
                {
                    writer.Write(source);
                    writer.Write(partial.Length);
                    writer.Write(partial);
                }
            }

            var idle = value.Sources.Lanes.Where(l => l.Idle).Select(l => l.Name).Order(StringComparer.Ordinal).ToList();
            writer.Write(idle.Count);
            foreach (var source in idle)
            {
                writer.Write(source);
            }

            writer.Write(value.ExpiredThrough.Count);
            foreach (var (source, closeAt) in value.ExpiredThrough.OrderBy(e => e.Key, StringComparer.Ordinal))
            {
                writer.Write(source);
                writer.Write(closeAt);
            }
        }

        public MergeState Read(BinaryReader reader, byte version)
        {
            var state = new MergeState { Duplicates = reader.ReadInt64(), Expired = reader.ReadInt64() };
            var sources = reader.ReadInt32();
            for (var i = 0; i < sources; i++)
            {
                state.Sources.Observe(reader.ReadString(), reader.ReadInt64());
            }

            var windows = reader.ReadInt32();
            for (var i = 0; i < windows; i++)
            {
                var window = new MergeWindow(WindowKey.Parse(reader.ReadString())) { Emitted = reader.ReadBoolean(), Dirty = reader.ReadBoolean() };
                var partials = reader.ReadInt32();
                for (var j = 0; j < partials; j++)
                {
                    var source = reader.ReadString();
                    window.Partials[source] = reader.ReadBytes(reader.ReadInt32());
                }

                if (covers(window.Key))
                {
                    state.Windows[window.Key.ToString()] = window;
                }
            }

            // Checkpoints written before idle tracking (all before the header) end here: no source idle, nothing expired.
            if (version > 0 || reader.BaseStream.Position < reader.BaseStream.Length)
            {
                var idle = reader.ReadInt32();
                for (var i = 0; i < idle; i++)
                {
                    state.Sources.SetIdle(reader.ReadString(), true);
                }

                var expired = reader.ReadInt32();
                for (var i = 0; i < expired; i++)
                {
                    state.ExpiredThrough[reader.ReadString()] = reader.ReadInt64();
                }
            }

            return state;
        }
    }
}

/// <summary>A window the merge holds: the latest partial of each source, and whether it was emitted since it changed.</summary>
/// <param name="key">The window.</param>
internal sealed class MergeWindow(WindowKey key)
{
    /// <summary>The window.</summary>
    public WindowKey Key { get; } = key;

    /// <summary>The latest partial state of each source, by source.</summary>
    public SortedDictionary<string, byte[]> Partials { get; } = new(StringComparer.Ordinal);

    /// <summary>Emitted at least once.</summary>
    public bool Emitted { get; set; }

    /// <summary>Changed since its last emission.</summary>
    public bool Dirty { get; set; }
}
