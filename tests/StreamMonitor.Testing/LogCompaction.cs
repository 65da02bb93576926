using StreamMonitor.Streams;

namespace StreamMonitor.Testing;

/// <summary>Kafka log compaction, simulated on a changelog partition held in memory.</summary>
public static class LogCompaction
{
    /// <summary>What compaction may leave of a partition: the last record per key, without keys whose last is a tombstone.</summary>
    public static List<ChangelogRecord> Compact(IEnumerable<ChangelogRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        var last = new Dictionary<string, (int Order, ChangelogRecord Record)>(StringComparer.Ordinal);
        var order = 0;
        foreach (var record in records)
        {
            last[Convert.ToHexString(record.Key)] = (order++, record);
        }

        return last.Values.Where(r => r.Record.Value is not null).OrderBy(r => r.Order).Select(r => r.Record).ToList();
    }
}
