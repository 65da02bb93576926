using System.Buffers.Binary;
using System.Text;

namespace StreamMonitor.Streams;

/// <summary>
/// A task whose bulk state lives in a changelog (<see cref="ChangelogPartition"/>) instead of its checkpoint record:
/// <see cref="IPartitionTask.Snapshot"/> then holds only what is small, and each checkpoint writes only the entries
/// that changed since the previous one, so the checkpoint's size does not grow with the state.
/// </summary>
public interface IChangelogTask : IPartitionTask
{
    /// <summary>
    /// Entries changed since the previous call, each with its current value (null: deleted). Called at a checkpoint,
    /// right before <see cref="IPartitionTask.Snapshot"/>; a restored task receives the entries live at that checkpoint.
    /// </summary>
    IReadOnlyCollection<KeyValuePair<string, byte[]?>> TakeChanges();
}

/// <summary>A record of a changelog topic partition: key, and value (null: a tombstone).</summary>
public readonly record struct ChangelogRecord(byte[] Key, byte[]? Value);

/// <summary>
/// The changelog protocol of one task, without Kafka (the processor produces and reads the records). Every checkpoint
/// is a generation n: its changed entries are written as records keyed (n, entry key), the checkpoint record names n,
/// and only then are the records they supersede tombstoned. A restore keeps, per entry, the record of the highest
/// generation not above the checkpoint's, so records a crashed instance wrote after its last checkpoint (generation
/// n + 1, never committed) are ignored and cleaned up. Because generations are part of the key, compaction can never
/// replace a committed record by an uncommitted one, which a key of the entry alone would allow: the state restored
/// is exactly the state checkpointed, with or without compaction, and without Kafka transactions.
/// </summary>
public sealed class ChangelogPartition
{
    private const byte Deleted = 0;
    private const byte Put = 1;
    private readonly Dictionary<string, long> _live;
    private List<ChangelogRecord> _afterCommit = [];

    private ChangelogPartition(long generation, Dictionary<string, long> live)
    {
        Generation = generation;
        _live = live;
    }

    /// <summary>The last committed generation (0 before the first checkpoint).</summary>
    public long Generation { get; private set; }

    /// <summary>Entries with a live record.</summary>
    public int LiveEntries => _live.Count;

    /// <summary>An empty changelog (a task without a checkpoint).</summary>
    public static ChangelogPartition Empty() => new(0, new Dictionary<string, long>(StringComparer.Ordinal));

    /// <summary>
    /// Restores from every record of the partition, in offset order, for a checkpoint of generation
    /// <paramref name="committed"/>: returns the entries live at that checkpoint, and in <paramref name="cleanup"/> the
    /// tombstones of records no restore will ever need (uncommitted generations, superseded or deleted entries).
    /// </summary>
    public static ChangelogPartition Restore(IEnumerable<ChangelogRecord> records, long committed, out Dictionary<string, byte[]> entries, out List<ChangelogRecord> cleanup)
    {
        ArgumentNullException.ThrowIfNull(records);
        var latest = new Dictionary<(string Key, long Generation), byte[]?>();
        foreach (var record in records)
        {
            latest[DecodeKey(record.Key)] = record.Value;
        }

        entries = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        cleanup = [];
        var live = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var entry in latest.Where(r => r.Value is not null).GroupBy(r => r.Key.Key, StringComparer.Ordinal))
        {
            var chosen = entry.Where(r => r.Key.Generation <= committed).Select(r => r.Key.Generation).DefaultIfEmpty(long.MinValue).Max();
            foreach (var (key, value) in entry)
            {
                if (key.Generation == chosen && IsPut(value!))
                {
                    entries[key.Key] = value![1..];
                    live[key.Key] = chosen;
                }
                else
                {
                    cleanup.Add(new ChangelogRecord(EncodeKey(key.Key, key.Generation), null));
                }
            }
        }

        return new ChangelogPartition(committed, live);
    }

    /// <summary>
    /// The records of generation <see cref="Generation"/> + 1 for <paramref name="changes"/>, to be made durable before
    /// the checkpoint naming that generation; <see cref="Commit"/> once the checkpoint is.
    /// </summary>
    public (long Generation, List<ChangelogRecord> Records) Stage(IEnumerable<KeyValuePair<string, byte[]?>> changes)
    {
        ArgumentNullException.ThrowIfNull(changes);
        var generation = Generation + 1;
        var records = new List<ChangelogRecord>();
        _afterCommit = [];
        foreach (var (key, value) in changes)
        {
            var had = _live.Remove(key, out var previous);
            if (value is null && !had)
            {
                // Created and deleted between two checkpoints: nothing was ever written.
                continue;
            }

            var recordKey = EncodeKey(key, generation);
            if (had)
            {
                _afterCommit.Add(new ChangelogRecord(EncodeKey(key, previous), null));
            }

            if (value is null)
            {
                // The deletion must be durable with the checkpoint (the previous record is still committed until then);
                // afterwards neither record is needed.
                records.Add(new ChangelogRecord(recordKey, [Deleted]));
                _afterCommit.Add(new ChangelogRecord(recordKey, null));
            }
            else
            {
                var framed = new byte[value.Length + 1];
                framed[0] = Put;
                value.CopyTo(framed, 1);
                records.Add(new ChangelogRecord(recordKey, framed));
                _live[key] = generation;
            }
        }

        return (generation, records);
    }

    /// <summary>The checkpoint of the staged generation is durable: returns the tombstones of the records it superseded.</summary>
    public List<ChangelogRecord> Commit()
    {
        Generation++;
        var tombstones = _afterCommit;
        _afterCommit = [];
        return tombstones;
    }

    /// <summary>
    /// The record value's leading frame byte: <see cref="Deleted"/> alone, or <see cref="Put"/> (the one version of a
    /// put so far) and the entry. Any other byte is a format this release cannot read, refused rather than taken for a
    /// deletion that would silently drop the entry.
    /// </summary>
    private static bool IsPut(byte[] value) => value switch
    {
        [Deleted] => false,
        [Put, ..] => true,
        _ => throw new InvalidDataException($"A changelog record value starts with frame byte {(value.Length == 0 ? "(none)" : value[0])}; this release reads {Deleted} (deleted) and {Put} (put)."),
    };

    /// <summary>Key of entry <paramref name="key"/> in generation <paramref name="generation"/>: generation (int64 big-endian), then the key in UTF-8.</summary>
    public static byte[] EncodeKey(string key, long generation)
    {
        ArgumentNullException.ThrowIfNull(key);
        var bytes = new byte[8 + Encoding.UTF8.GetByteCount(key)];
        BinaryPrimitives.WriteInt64BigEndian(bytes, generation);
        Encoding.UTF8.GetBytes(key, bytes.AsSpan(8));
        return bytes;
    }

    /// <summary>Decodes <see cref="EncodeKey"/>.</summary>
    public static (string Key, long Generation) DecodeKey(byte[] key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Length < 8)
        {
            throw new InvalidDataException("A changelog key starts with an 8-byte generation.");
        }

        return (Encoding.UTF8.GetString(key.AsSpan(8)), BinaryPrimitives.ReadInt64BigEndian(key));
    }
}
