using System.Text.RegularExpressions;

namespace StreamMonitor.Replay;

/// <summary>
/// The isolated namespace a replay writes to: a topic suffix and an InfluxDB database. Consumer groups and checkpoint
/// identities get the suffix too, so a replay never shares state with the live services.
/// </summary>
public sealed partial record ReplayNamespace(string Suffix, string InfluxDatabase)
{
    /// <summary>Checks the names: the suffix must start with '.' and use Kafka's topic characters; the database must be non-empty and differ from the live one.</summary>
    public void Validate(string liveDatabase)
    {
        if (!SuffixPattern().IsMatch(Suffix))
        {
            throw new ArgumentException($"--suffix '{Suffix}' must start with '.' and contain only letters, digits, '.', '_' and '-' (e.g. .replay-incident42).");
        }

        if (string.IsNullOrWhiteSpace(InfluxDatabase) || string.Equals(InfluxDatabase, liveDatabase, StringComparison.Ordinal))
        {
            throw new ArgumentException($"--influx-db must name a database other than the live one ('{liveDatabase}').");
        }
    }

    [GeneratedRegex("^\\.[A-Za-z0-9._-]+$")]
    private static partial Regex SuffixPattern();
}
