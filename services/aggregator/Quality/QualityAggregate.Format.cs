using StreamMonitor.Contracts.State;

namespace StreamMonitor.Aggregator.Quality;

// The binary format of QualityAggregate in partials, checkpoints and changelogs.
public sealed partial class QualityAggregate
{
    /// <summary>
    /// The state's binary format: the counts (<see cref="WriteCountsTo"/>) and then the lists (<see cref="WriteLists"/>).
    /// Partials and the result topology store it without a leading version byte, as the running release writes them;
    /// the format's version is inside the lists (version 1 ends after the pairs, version 2 appends a version number and
    /// the regression errors), so a stored state is read with <see cref="ReadEmbedded"/>, which tells the version by
    /// the end of the record. <see cref="StateCodec.Encode{T}"/> writes a standalone record with the version byte first.
    /// </summary>
    public static IStateCodec<QualityAggregate> Codec { get; } = new Format();

    /// <summary>
    /// Reads a state stored without the version byte (<see cref="IStateCodec{T}.Write"/>), to the end of the stream:
    /// either version, told by whether the lists end after the pairs.
    /// </summary>
    /// <exception cref="InvalidDataException">The lists carry an unknown version.</exception>
    public static QualityAggregate ReadEmbedded(BinaryReader reader)
    {
        var aggregate = ReadCountsFrom(reader);
        aggregate.ReadListsFrom(reader);
        return aggregate;
    }

    /// <summary>Encodes the counts and sums only (fixed size; the lists travel apart, see <see cref="WriteLists"/>).</summary>
    public void WriteCountsTo(BinaryWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        foreach (var value in _counts)
        {
            writer.Write(value);
        }

        // Two retired slots (the binary log-loss and Brier sums, now computed from the pairs) and the regression sums,
        // now only the legacy part (the rest is in the errors): existing partials and changelogs keep their layout.
        writer.Write(0.0);
        writer.Write(0.0);
        writer.Write(LegacyAbsErrorSum);
        writer.Write(LegacySquaredErrorSum);
    }

    /// <summary>Decodes <see cref="WriteCountsTo"/>: an aggregate with empty lists.</summary>
    public static QualityAggregate ReadCountsFrom(BinaryReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var aggregate = new QualityAggregate();
        for (var i = 0; i < aggregate._counts.Length; i++)
        {
            aggregate._counts[i] = reader.ReadInt64();
        }

        reader.ReadDouble();
        reader.ReadDouble();
        aggregate.LegacyAbsErrorSum = reader.ReadDouble();
        aggregate.LegacySquaredErrorSum = reader.ReadDouble();
        return aggregate;
    }

    /// <summary>
    /// Encodes label delays, (score, label) pairs and regression errors (all of them, or a run of new ones). The lists end
    /// their record: version 2 appends the errors after a version number; a version 1 record ends after the pairs.
    /// </summary>
    public static void WriteLists(BinaryWriter writer, IReadOnlyList<long> delaysMs, IReadOnlyList<(double Score, bool Positive)> scores, IReadOnlyList<double> errors)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(delaysMs);
        ArgumentNullException.ThrowIfNull(scores);
        ArgumentNullException.ThrowIfNull(errors);
        writer.Write(delaysMs.Count);
        foreach (var delay in delaysMs)
        {
            writer.Write(delay);
        }

        writer.Write(scores.Count);
        foreach (var (score, positive) in scores)
        {
            writer.Write(score);
            writer.Write(positive);
        }

        writer.Write(ListsVersion);
        writer.Write(errors.Count);
        foreach (var error in errors)
        {
            writer.Write(error);
        }
    }

    /// <summary>
    /// Appends lists written by <see cref="WriteLists"/>, reading to the end of the stream (a version 1 record has no
    /// errors: its regression predictions are in the legacy sums of the counts).
    /// </summary>
    public void ReadListsFrom(BinaryReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ReadDelaysAndScores(reader);
        if (reader.BaseStream.Position != reader.BaseStream.Length)
        {
            ReadErrors(reader);
        }
    }

    private void ReadDelaysAndScores(BinaryReader reader)
    {
        var delays = reader.ReadInt32();
        for (var i = 0; i < delays; i++)
        {
            DelaysMs.Add(reader.ReadInt64());
        }

        var scores = reader.ReadInt32();
        for (var i = 0; i < scores; i++)
        {
            Scores.Add((reader.ReadDouble(), reader.ReadBoolean()));
        }
    }

    private void ReadErrors(BinaryReader reader)
    {
        var version = reader.ReadInt32();
        if (version != ListsVersion)
        {
            throw new InvalidDataException($"Quality lists version {version} is not {ListsVersion}.");
        }

        var errors = reader.ReadInt32();
        for (var i = 0; i < errors; i++)
        {
            Errors.Add(reader.ReadDouble());
        }
    }

    private sealed class Format : IStateCodec<QualityAggregate>
    {
        public byte Version => ListsVersion;

        public void Write(BinaryWriter writer, QualityAggregate value)
        {
            ArgumentNullException.ThrowIfNull(value);
            value.WriteCountsTo(writer);
            WriteLists(writer, value.DelaysMs, value.Scores, value.Errors);
        }

        public QualityAggregate Read(BinaryReader reader, byte version)
        {
            var aggregate = ReadCountsFrom(reader);
            aggregate.ReadDelaysAndScores(reader);
            if (version >= 2)
            {
                aggregate.ReadErrors(reader);
            }

            return aggregate;
        }
    }
}
