using StreamMonitor.Aggregator.Quality;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.State;

namespace StreamMonitor.Aggregator.Tests;

/// <summary>
/// The quality join's formats (<see cref="QualityChangelogCodec"/>): the checkpoint record round-trips in its current
/// version, the two header-less versions written before it stay readable, and every changelog entry round-trips.
/// </summary>
public sealed class QualityChangelogCodecTests
{
    private static JoinProgress Sample()
    {
        var progress = new JoinProgress
        {
            StreamTime = 1_763_800_123_456,
            PredictionTime = 1_763_800_100_000,
            LastTick = 1_763_800_080_000,
            LastFrontier = 1_763_799_999_999,
            Malformed = 1,
            Late = 2,
            ErrorPredictions = 3,
            Duplicates = 4,
            LabelsUnknown = 5,
            LabelsExpired = 6,
            RepartitionDuplicates = 7,
        };
        progress.AppliedSourceOffsets[0] = 41;
        progress.AppliedSourceOffsets[3] = 9_000_000_000;
        return progress;
    }

    private static long[] Fields(JoinProgress p) =>
        [p.StreamTime, p.PredictionTime, p.LastTick, p.LastFrontier, p.Malformed, p.Late, p.ErrorPredictions, p.Duplicates, p.LabelsUnknown, p.LabelsExpired, p.RepartitionDuplicates];

    private static byte[] Legacy(JoinProgress p, bool withTable) => QualityChangelogCodec.Bytes(writer =>
    {
        foreach (var field in Fields(p).Take(10))
        {
            writer.Write(field);
        }

        if (withTable)
        {
            writer.Write(2);
            writer.Write(p.RepartitionDuplicates);
            writer.Write(p.AppliedSourceOffsets.Count);
            foreach (var (partition, offset) in p.AppliedSourceOffsets)
            {
                writer.Write(partition);
                writer.Write(offset);
            }
        }
    });

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void The_checkpoint_record_round_trips_with_its_version_byte_first(int offsets)
    {
        var progress = Sample();
        foreach (var partition in progress.AppliedSourceOffsets.Keys.Skip(offsets).ToList())
        {
            progress.AppliedSourceOffsets.Remove(partition);
        }

        var bytes = QualityChangelogCodec.Instance.Encode(progress);
        Assert.Equal(QualityChangelogCodec.Instance.Version, bytes[0]);
        var decoded = QualityChangelogCodec.DecodeSnapshot(bytes);
        Assert.Equal(Fields(progress), Fields(decoded));
        Assert.Equal(progress.AppliedSourceOffsets, decoded.AppliedSourceOffsets);
    }

    [Fact]
    public void Version_1_and_version_2_checkpoints_written_before_the_header_are_still_read()
    {
        var progress = Sample();
        var v2 = QualityChangelogCodec.DecodeSnapshot(Legacy(progress, withTable: true));
        Assert.Equal(Fields(progress), Fields(v2));
        Assert.Equal(progress.AppliedSourceOffsets, v2.AppliedSourceOffsets);

        var v1Bytes = Legacy(progress, withTable: false);
        Assert.Equal(80, v1Bytes.Length);
        var v1 = QualityChangelogCodec.DecodeSnapshot(v1Bytes);
        Assert.Equal(Fields(progress).Take(10), Fields(v1).Take(10));
        Assert.Equal(0, v1.RepartitionDuplicates);
        Assert.Empty(v1.AppliedSourceOffsets);

        // A version-2 record without its marker is refused, not guessed at.
        var broken = Legacy(progress, withTable: true);
        broken[80] = 7;
        Assert.Throws<InvalidDataException>(() => QualityChangelogCodec.DecodeSnapshot(broken));
    }

    [Fact]
    public void A_version_newer_than_the_codec_is_refused()
    {
        var bytes = QualityChangelogCodec.Instance.Encode(Sample());
        bytes[0] = (byte)(QualityChangelogCodec.Instance.Version + 1);
        Assert.Throws<InvalidDataException>(() => QualityChangelogCodec.DecodeSnapshot(bytes));
    }

    [Fact]
    public void Every_changelog_entry_round_trips()
    {
        var pending = new PendingPrediction((60_000, "fraud|3"), 61_234, OutputKind.BINARY_PROBABILITY, 0.75, null);
        var decodedPending = QualityChangelogCodec.DecodePending(QualityChangelogCodec.EncodePending(pending));
        Assert.Equal(pending, decodedPending);
        var multiclass = pending with { Kind = OutputKind.MULTICLASS_PROBABILITIES, Score = double.NaN, PredictedClass = 4 };
        Assert.Equal(multiclass, QualityChangelogCodec.DecodePending(QualityChangelogCodec.EncodePending(multiclass)));

        var label = new WaitingLabel(90_000, 1.0, 2, 77, [1, 2, 3]);
        var decodedLabel = QualityChangelogCodec.DecodeLabel(QualityChangelogCodec.EncodeLabel(label));
        Assert.Equal((label.LabelTimeMs, label.Value, label.Partition, label.Offset), (decodedLabel.LabelTimeMs, decodedLabel.Value, decodedLabel.Partition, decodedLabel.Offset));
        Assert.Equal(label.Payload, decodedLabel.Payload);

        foreach (var status in Enum.GetValues<JoinResolution>())
        {
            Assert.Equal((status, 123L), QualityChangelogCodec.DecodeResolved(QualityChangelogCodec.EncodeResolved(status, 123)));
        }

        Assert.Equal("Pe1", QualityChangelogCodec.PendingKey("e1"));
        Assert.Equal("W60000|fraud|3", QualityChangelogCodec.WindowKey((60_000, "fraud|3")));
        Assert.Equal("C60000|fraud|3#2", QualityChangelogCodec.ChunkKey((60_000, "fraud|3"), 2));
    }
}
