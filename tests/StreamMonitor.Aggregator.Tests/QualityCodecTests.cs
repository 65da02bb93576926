using StreamMonitor.Aggregator.Quality;
using StreamMonitor.Contracts.State;

namespace StreamMonitor.Aggregator.Tests;

/// <summary>
/// <see cref="QualityAggregate.Codec"/>: the bytes the running release stores (partials, result merges; captured below
/// as hex of the former <c>WriteTo</c> layout) decode to the same state and are written again byte for byte; the
/// version 1 layout (no errors) is still read; standalone records round-trip; truncated records and unknown versions fail.
/// </summary>
public sealed class QualityCodecTests
{
    /// <summary>Counts, then delays, pairs, lists version 2 and errors: <see cref="Aggregate"/>.</summary>
    private const string AggregateHex =
        "0A00000000000000040000000000000001000000000000000400000000000000030000000000000002000000000000000200000000000000010000"
        + "000000000000000000000000000100000000000000010000000000000000000000000000000000000000000000000000000000F43F000000000000"
        + "044004000000DC05000000000000C4090000000000006400000000000000BC02000000000000020000009A9999999999E93F01333333333333D33F"
        + "010200000001000000000000000000E03F";

    /// <summary>The version 1 layout of the same state (before the errors were kept): it ends after the pairs.</summary>
    private const int Version1Length = 178;

    internal static QualityAggregate Aggregate()
    {
        var aggregate = new QualityAggregate
        {
            Predictions = 10,
            Labeled = 4,
            ExpiredUnlabeled = 1,
            Revision = 4,
            Classified = 3,
            Correct = 2,
            Binary = 2,
            TruePositives = 1,
            FalsePositives = 0,
            FalseNegatives = 1,
            Regression = 1,
            LegacyAbsErrorSum = 1.25,
            LegacySquaredErrorSum = 2.5,
        };
        aggregate.DelaysMs.AddRange([1_500, 2_500, 100, 700]);
        aggregate.Scores.AddRange([(0.8, true), (0.3, true)]);
        aggregate.Errors.Add(0.5);
        return aggregate;
    }

    [Fact]
    public void Todays_bytes_decode_to_equal_state_and_are_written_again_byte_for_byte()
    {
        var bytes = Convert.FromHexString(AggregateHex);
        AssertEqual(Aggregate(), QualityAggregate.ReadEmbedded(new BinaryReader(new MemoryStream(bytes))));
        Assert.Equal(AggregateHex, Convert.ToHexString(Bytes(Aggregate())));

        // A standalone record is the version byte and the same bytes.
        Assert.Equal("02" + AggregateHex, Convert.ToHexString(QualityAggregate.Codec.Encode(Aggregate())));
        AssertEqual(Aggregate(), QualityAggregate.Codec.Decode([2, .. bytes]));
    }

    [Fact]
    public void A_version_1_state_reads_without_errors()
    {
        var bytes = Convert.FromHexString(AggregateHex)[..Version1Length];
        var expected = Aggregate();
        expected.Errors.Clear();
        AssertEqual(expected, QualityAggregate.ReadEmbedded(new BinaryReader(new MemoryStream(bytes))));
        AssertEqual(expected, QualityAggregate.Codec.Decode([1, .. bytes]));
    }

    [Fact]
    public void An_empty_state_round_trips()
    {
        AssertEqual(new QualityAggregate(), QualityAggregate.Codec.Decode(QualityAggregate.Codec.Encode(new QualityAggregate())));
    }

    [Fact]
    public void Truncated_records_and_unknown_versions_are_refused()
    {
        var record = QualityAggregate.Codec.Encode(Aggregate());
        Assert.Throws<InvalidDataException>(() => QualityAggregate.Codec.Decode(record[..^1]));
        Assert.Throws<InvalidDataException>(() => QualityAggregate.Codec.Decode(record[..40]));
        Assert.Throws<InvalidDataException>(() => QualityAggregate.Codec.Decode([3, .. record[1..]]));
        Assert.Throws<InvalidDataException>(() => QualityAggregate.Codec.Decode([0, .. record[1..]]));

        // The lists' own version, inside the stored layout.
        var bytes = Convert.FromHexString(AggregateHex);
        bytes[Version1Length] = 3;
        Assert.Throws<InvalidDataException>(() => QualityAggregate.ReadEmbedded(new BinaryReader(new MemoryStream(bytes))));
    }

    private static byte[] Bytes(QualityAggregate aggregate)
    {
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer))
        {
            QualityAggregate.Codec.Write(writer, aggregate);
        }

        return buffer.ToArray();
    }

    private static void AssertEqual(QualityAggregate expected, QualityAggregate actual)
    {
        Assert.Equal(
            (expected.Predictions, expected.Labeled, expected.ExpiredUnlabeled, expected.Revision, expected.Classified, expected.Correct, expected.Binary),
            (actual.Predictions, actual.Labeled, actual.ExpiredUnlabeled, actual.Revision, actual.Classified, actual.Correct, actual.Binary));
        Assert.Equal(
            (expected.TruePositives, expected.FalsePositives, expected.FalseNegatives, expected.Regression, expected.LegacyAbsErrorSum, expected.LegacySquaredErrorSum),
            (actual.TruePositives, actual.FalsePositives, actual.FalseNegatives, actual.Regression, actual.LegacyAbsErrorSum, actual.LegacySquaredErrorSum));
        Assert.Equal(expected.DelaysMs, actual.DelaysMs);
        Assert.Equal(expected.Scores, actual.Scores);
        Assert.Equal(expected.Errors, actual.Errors);
    }
}
