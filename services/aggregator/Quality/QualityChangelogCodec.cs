using System.Globalization;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.State;

namespace StreamMonitor.Aggregator.Quality;

/// <summary>
/// What the quality join's checkpoint record holds: stream times, the last update tick and frontier, the counters and,
/// per labels-topic partition, the highest source offset applied (the repartition step's duplicates are dropped by it).
/// </summary>
public sealed class JoinProgress
{
    /// <summary>Max of prediction event times and label times.</summary>
    public long StreamTime { get; set; } = long.MinValue;

    /// <summary>Max prediction event time (raised by the idle rule): quality windows close on it.</summary>
    public long PredictionTime { get; set; } = long.MinValue;

    /// <summary>The last update tick (stream time floored to the update interval) at which closed windows were flushed.</summary>
    public long LastTick { get; set; } = long.MinValue;

    /// <summary>The last finalisation frontier published.</summary>
    public long LastFrontier { get; set; } = long.MinValue;

    /// <summary>Rejected records and invalid binary labels.</summary>
    public long Malformed { get; set; }

    /// <summary>Late predictions.</summary>
    public long Late { get; set; }

    /// <summary>Error predictions.</summary>
    public long ErrorPredictions { get; set; }

    /// <summary>Duplicate predictions and labels.</summary>
    public long Duplicates { get; set; }

    /// <summary>Labels whose prediction never came.</summary>
    public long LabelsUnknown { get; set; }

    /// <summary>Labels whose prediction had expired.</summary>
    public long LabelsExpired { get; set; }

    /// <summary>Labels the repartition step produced again.</summary>
    public long RepartitionDuplicates { get; set; }

    /// <summary>Per labels-topic partition, the highest source offset applied.</summary>
    public SortedDictionary<int, long> AppliedSourceOffsets { get; } = [];
}

/// <summary>
/// The quality join's formats. The checkpoint record (<see cref="JoinProgress"/>) is an <see cref="IStateCodec{T}"/>:
/// version 3, written now, starts with its version byte; versions 1 (ten counters, 80 bytes) and 2 (the ten counters,
/// an int 2, the repartition duplicates and the dedupe table: 96 + 12 n bytes) came before the header and are still
/// read (<see cref="DecodeSnapshot"/>). Their lengths are multiples of 4 and a version-3 record's never is (1 + 92 +
/// 12 n), so the length tells them apart without guessing. Changelog entries are keyed by a kind letter (P pending,
/// L label, R resolved, W window, C list chunk) whose value format the letter names.
/// </summary>
public sealed class QualityChangelogCodec : IStateCodec<JoinProgress>
{
    /// <summary>Changelog key prefix of a pending prediction.</summary>
    public const char PendingPrefix = 'P';

    /// <summary>Changelog key prefix of a waiting label.</summary>
    public const char LabelPrefix = 'L';

    /// <summary>Changelog key prefix of a resolved id.</summary>
    public const char ResolvedPrefix = 'R';

    /// <summary>Changelog key prefix of a window's counts.</summary>
    public const char WindowPrefix = 'W';

    /// <summary>Changelog key prefix of a chunk of a window's lists.</summary>
    public const char ChunkPrefix = 'C';

    private const int LegacyVersion2Marker = 2;

    /// <summary>The one instance.</summary>
    public static QualityChangelogCodec Instance { get; } = new();

    /// <summary>Order of (time, id) pairs: time, then id ordinally.</summary>
    public static Comparer<(long Time, string Id)> ByTime { get; } = Comparer<(long Time, string Id)>.Create(
        (a, b) => a.Time != b.Time ? a.Time.CompareTo(b.Time) : string.CompareOrdinal(a.Id, b.Id));

    /// <inheritdoc />
    public byte Version => 3;

    /// <summary>Decodes a checkpoint record of any version.</summary>
    public static JoinProgress DecodeSnapshot(byte[] state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Length % 4 != 0)
        {
            return Instance.Decode(state);
        }

        using var reader = new BinaryReader(new MemoryStream(state, writable: false));
        return Instance.Read(reader, state.Length == 80 ? (byte)1 : (byte)2);
    }

    /// <inheritdoc />
    public void Write(BinaryWriter writer, JoinProgress value)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(value);
        WriteCounters(writer, value);
        writer.Write(value.RepartitionDuplicates);
        WriteOffsets(writer, value);
    }

    /// <inheritdoc />
    public JoinProgress Read(BinaryReader reader, byte version)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var value = new JoinProgress
        {
            StreamTime = reader.ReadInt64(),
            PredictionTime = reader.ReadInt64(),
            LastTick = reader.ReadInt64(),
            LastFrontier = reader.ReadInt64(),
            Malformed = reader.ReadInt64(),
            Late = reader.ReadInt64(),
            ErrorPredictions = reader.ReadInt64(),
            Duplicates = reader.ReadInt64(),
            LabelsUnknown = reader.ReadInt64(),
            LabelsExpired = reader.ReadInt64(),
        };
        if (version == 1)
        {
            return value;
        }

        if (version == 2 && reader.ReadInt32() != LegacyVersion2Marker)
        {
            throw new InvalidDataException($"Quality join snapshot of version 2 lacks its marker {LegacyVersion2Marker}.");
        }

        value.RepartitionDuplicates = reader.ReadInt64();
        for (var count = reader.ReadInt32(); count > 0; count--)
        {
            value.AppliedSourceOffsets[reader.ReadInt32()] = reader.ReadInt64();
        }

        return value;
    }

    /// <summary>Key of a pending prediction.</summary>
    public static string PendingKey(string id) => PendingPrefix + id;

    /// <summary>Key of a waiting label.</summary>
    public static string LabelKey(string id) => LabelPrefix + id;

    /// <summary>Key of a resolved id.</summary>
    public static string ResolvedKey(string id) => ResolvedPrefix + id;

    /// <summary>Key of a window's counts.</summary>
    public static string WindowKey((long Time, string Id) slot) => string.Create(CultureInfo.InvariantCulture, $"{WindowPrefix}{slot.Time}|{slot.Id}");

    /// <summary>Key of chunk <paramref name="chunk"/> of a window's lists.</summary>
    public static string ChunkKey((long Time, string Id) slot, int chunk) => string.Create(CultureInfo.InvariantCulture, $"{ChunkPrefix}{slot.Time}|{slot.Id}#{chunk}");

    /// <summary>Value of a pending prediction.</summary>
    public static byte[] EncodePending(PendingPrediction prediction) => Bytes(writer =>
    {
        writer.Write(prediction.Window.Time);
        writer.Write(prediction.Window.Id);
        writer.Write(prediction.EventTimeMs);
        writer.Write((int)prediction.Kind);
        writer.Write(prediction.Score);
        writer.Write(prediction.PredictedClass ?? int.MinValue);
    });

    /// <summary>Reads a value of <see cref="EncodePending"/>.</summary>
    public static PendingPrediction DecodePending(byte[] value)
    {
        using var reader = Reader(value);
        var slot = (reader.ReadInt64(), reader.ReadString());
        var eventTime = reader.ReadInt64();
        var kind = (OutputKind)reader.ReadInt32();
        var score = reader.ReadDouble();
        var predictedClass = reader.ReadInt32();
        return new PendingPrediction(slot, eventTime, kind, score, predictedClass == int.MinValue ? null : predictedClass);
    }

    /// <summary>Value of a waiting label.</summary>
    public static byte[] EncodeLabel(WaitingLabel label) => Bytes(writer =>
    {
        writer.Write(label.LabelTimeMs);
        writer.Write(label.Value);
        writer.Write(label.Partition);
        writer.Write(label.Offset);
        writer.Write(label.Payload.Length);
        writer.Write(label.Payload);
    });

    /// <summary>Reads a value of <see cref="EncodeLabel"/>.</summary>
    public static WaitingLabel DecodeLabel(byte[] value)
    {
        using var reader = Reader(value);
        return new WaitingLabel(reader.ReadInt64(), reader.ReadDouble(), reader.ReadInt32(), reader.ReadInt64(), reader.ReadBytes(reader.ReadInt32()));
    }

    /// <summary>Value of a resolved id.</summary>
    public static byte[] EncodeResolved(JoinResolution status, long forgetAtMs) => Bytes(writer =>
    {
        writer.Write((byte)status);
        writer.Write(forgetAtMs);
    });

    /// <summary>Reads a value of <see cref="EncodeResolved"/>.</summary>
    public static (JoinResolution Status, long ForgetAtMs) DecodeResolved(byte[] value)
    {
        using var reader = Reader(value);
        return ((JoinResolution)reader.ReadByte(), reader.ReadInt64());
    }

    /// <summary>The bytes <paramref name="write"/> writes.</summary>
    public static byte[] Bytes(Action<BinaryWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer))
        {
            write(writer);
        }

        return buffer.ToArray();
    }

    /// <summary>A reader over <paramref name="value"/> from <paramref name="offset"/>.</summary>
    public static BinaryReader Reader(byte[] value, int offset = 0) => new(new MemoryStream(value, offset, value.Length - offset, writable: false));

    /// <summary>Writes the ten counters of version 1, the start of every version.</summary>
    private static void WriteCounters(BinaryWriter writer, JoinProgress value)
    {
        foreach (var counter in (long[])[value.StreamTime, value.PredictionTime, value.LastTick, value.LastFrontier, value.Malformed, value.Late, value.ErrorPredictions, value.Duplicates, value.LabelsUnknown, value.LabelsExpired])
        {
            writer.Write(counter);
        }
    }

    /// <summary>Writes the dedupe table (count, then partition and offset pairs).</summary>
    private static void WriteOffsets(BinaryWriter writer, JoinProgress value)
    {
        writer.Write(value.AppliedSourceOffsets.Count);
        foreach (var (partition, offset) in value.AppliedSourceOffsets)
        {
            writer.Write(partition);
            writer.Write(offset);
        }
    }
}
