using StreamMonitor.Analytics.Drift;
using StreamMonitor.Analytics.Latency;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.State;

namespace StreamMonitor.Analytics.Tests;

/// <summary>
/// The state codecs of the Analytics types: the bytes written before the codecs existed (captured below as hex from
/// the WriteTo methods they replace) decode to the same values and are written again byte for byte; every older
/// version stays readable; truncated records and unknown versions fail with <see cref="InvalidDataException"/>.
/// </summary>
public sealed class StateCodecTests
{
    /// <summary>A histogram stored inside an aggregate (no version byte): <see cref="Histogram"/>.</summary>
    private const string HistogramHex =
        "FEFFFFFFFFFFFFFF0600000000000000F41C95D60000000000000000000000000AA493D6000000000100000000000000010000000000000059000000"
        + "1C849314000000515885EDCAB10D40501804E0FFBD2844A2D28A552C670323B08701F4E6905840C43383E6FB8ABBE2AE9FE62E22DA78E5D2E989635E"
        + "633CCB70D5794BD5D2E47DF84E00000000000000000000000040FCEA06";

    /// <summary>An empty histogram, stored inside an aggregate.</summary>
    private const string EmptyHistogramHex =
        "FEFFFFFFFFFFFFFF0000000000000000";

    /// <summary>A latency aggregate record (version 1): <see cref="Aggregate"/>.</summary>
    private const string AggregateHex =
        "0104000000000000000100000000000000020000000000000018000000000000000300000000000000080000000200000050C3000000000000010000"
        + "0000000000A0860100000000000200000000000000FEFFFFFFFFFFFFFF0300000000000000580200000000000064000000000000002C010000000000"
        + "0000000000000000000000000000000000520000001C8493140000004A5885EDCA310D80401004C0BBEBA869F182391C7C458F15820374208190070D"
        + "3433C56EB2D9696963440CD1D5DBF9C4D9B698AF3E1C597BD69ADF0100000000000000000000000088DFDDFEFFFFFFFFFFFFFF03000000000000003C"
        + "0000000000000014000000000000001400000000000000000000000000000000000000000000004C0000001C849314000000445885EDC93111803000"
        + "03C09401035DD99181391CD4029AD081841E57EA81E17F48EE92ED6C35C992617679E36E578E670CFBFA3D00000000000000000000000040FEA203FE"
        + "FFFFFFFFFFFFFF03000000000000002823000000000000B80B000000000000B80B000000000000000000000000000000000000000000004D0000001C"
        + "849314000000455885EDC9B10D80300003B000520756567EE1393EE80BDCC41D2CEC156A8F60B087444AF6B36E499674F3E8E98BBB5E399E3EBC6B19"
        + "17000000000000000000000000909F68FEFFFFFFFFFFFFFF030000000000000080A9030000000000409C000000000000C0D401000000000000000000"
        + "000000000000000000000000540000001C8493140000004C5885EDCAB10D80301003C0FF74B4D0B20BCBB1412A7A766013E6608148080566A0B92B6C"
        + "C9F2BCD6292286E8CADBF9C459F758AE3E1C636959B6FC0E00000000000000000000000040FCEE06FEFFFFFFFFFFFFFF03000000000000002D000000"
        + "000000000F000000000000000F00000000000000000000000000000000000000000000004B0000001C849314000000435885EDC9410D80300003C08E"
        + "0706F6052D98C3C12CA0091D4858C898071E778F3669B7B3D5244B86D9E58DBB5D399E31ECEBF700000000000000000000000000F98B0EFEFFFFFFFF"
        + "FFFFFF0300000000000000B01E040000000000C8AF000000000000580F02000000000000000000000000000000000000000000530000001C84931400"
        + "00004B5885EDCAB10D80301003C0FF74B4D0B20BCBB141568095E8D881052221149881E6AEB025CBF35AA78818A22B6FE71347DD62B9FA708EA565D9"
        + "F33B00000000000000000000000000F1BB1B";

    /// <summary>A drift aggregate record (version 2): <see cref="Drift"/>.</summary>
    private const string DriftHex =
        "020600000000000000020000000F0000000100000000000000050000000000000000000000000000C000000000000044400500000000000000010000"
        + "00000000000200000001000000000000000300000001000000000000000900000001000000000000000E000000010000000000000003000000000000"
        + "00000000C00100000000000000000000000000F83F010000000000000000000000000044400100000000000000050000000000000000000000050000"
        + "000000000000000000000000000000000000001C40030000000100000001000000000000000300000001000000000000000400000003000000000000"
        + "0002000000000000000000004002000000000000000000000000001C4001000000000000000100000001000000000000000400000000000000030000"
        + "000161020000000000000001620100000000000000036E657701000000000000000109000000000000000000000003000000000000009A9999999999"
        + "C93F333333333333F33F02000000020000000100000000000000080000000200000000000000030000009A9999999999C93F01000000000000006666"
        + "66666666EE3F0100000000000000333333333333F33F0100000000000000";

    /// <summary>The first numeric window of <see cref="Drift"/>, stored inside the aggregate.</summary>
    private const string NumericHex =
        "0F0000000100000000000000050000000000000000000000000000C00000000000004440050000000000000001000000000000000200000001000000"
        + "000000000300000001000000000000000900000001000000000000000E00000001000000000000000300000000000000000000C00100000000000000"
        + "000000000000F83F010000000000000000000000000044400100000000000000";

    /// <summary>The categorical window of <see cref="Drift"/>, stored inside the aggregate.</summary>
    private const string CategoricalHex =
        "01000000000000000400000000000000030000000161020000000000000001620100000000000000036E65770100000000000000";

    internal static LatencyHistogram Histogram()
    {
        var histogram = new LatencyHistogram();
        foreach (var value in new[] { 1_500L, 2_500, 2_500, 90_000, -3, LatencyHistogram.HighestTrackableUs + 10 })
        {
            histogram.Record(value);
        }

        return histogram;
    }

    internal static LatencyAggregate Aggregate()
    {
        var aggregate = new LatencyAggregate([50_000, 100_000]) { LateCount = 2 };
        for (var i = 0; i < 4; i++)
        {
            aggregate.Add(new Prediction
            {
                Status = i == 3 ? PredictionStatus.ERROR : PredictionStatus.OK,
                Timing = new PredictionTiming { KafkaQueueUs = 100 * (i + 1), DecodeUs = 20, BatchWaitUs = 3_000, InferenceUs = 40_000 * (i + 1), EncodeUs = 15, E2eUs = 45_000 * (i + 1), BatchSize = 8 },
            });
        }

        return aggregate;
    }

    internal static ReferenceProfile Profile() => new()
    {
        Numeric = [NumericProfile.Build("x", [1.0, 2, 2, 3, 5, 8, 13, 21]), NumericProfile.Build("d", [0.0, 1, 1, 0, 1])],
        Categorical = [CategoricalProfile.Build("c", ["a", "b", "b", null])],
        Score = NumericProfile.Build("score", [0.1, 0.4, 0.6, 0.9]),
    };

    internal static DriftAggregate Drift()
    {
        var profile = Profile();
        var drift = new DriftAggregate(profile) { Count = 6 };
        foreach (var v in new double?[] { 1.5, 40, -2, null, 8, 2 })
        {
            drift.Numeric[0].Add(profile.Numeric[0], v);
        }

        foreach (var v in new double?[] { 0, 1, 2, 2, 7 })
        {
            drift.Numeric[1].Add(profile.Numeric[1], v);
        }

        foreach (var v in new[] { "a", "b", "new", null, "a" })
        {
            drift.Categorical[0].Add(profile.Categorical[0], v);
        }

        foreach (var v in new double?[] { 0.2, 0.95, 1.2 })
        {
            drift.Score!.Add(profile.Score!, v);
        }

        return drift;
    }

    [Fact]
    public void Todays_latency_histogram_bytes_decode_to_equal_values_and_are_written_again_byte_for_byte()
    {
        var bytes = Convert.FromHexString(HistogramHex);
        AssertEqual(Histogram(), LatencyHistogram.ReadEmbedded(Reader(bytes)));
        Assert.Equal(HistogramHex, Convert.ToHexString(Bytes(w => LatencyHistogram.Codec.Write(w, Histogram()))));
        Assert.Equal(EmptyHistogramHex, Convert.ToHexString(Bytes(w => LatencyHistogram.Codec.Write(w, new LatencyHistogram()))));
        Assert.Equal(0, LatencyHistogram.ReadEmbedded(Reader(Convert.FromHexString(EmptyHistogramHex))).Count);

        // A standalone record is the version byte and the same bytes.
        Assert.Equal("02" + HistogramHex, Convert.ToHexString(LatencyHistogram.Codec.Encode(Histogram())));
        AssertEqual(Histogram(), LatencyHistogram.Codec.Decode([2, .. bytes]));
    }

    [Fact]
    public void A_version_1_histogram_with_one_clamp_count_reads_it_as_above_the_range_when_the_max_is()
    {
        // Version 1: count, sum, min, max, one clamp count, then the compressed counts (today's bytes less the marker
        // and with the two clamp counts summed).
        var today = Convert.FromHexString(HistogramHex);
        byte[] version1 = [.. today[8..40], .. BitConverter.GetBytes(2L), .. today[56..]];
        var expected = Histogram();
        foreach (var read in new[] { LatencyHistogram.ReadEmbedded(Reader(version1)), LatencyHistogram.Codec.Decode([1, .. version1]) })
        {
            Assert.Equal((expected.Count, expected.Sum, expected.Min, expected.Max), (read.Count, read.Sum, read.Min, read.Max));
            Assert.Equal((0L, 2L), (read.ClampedBelow, read.ClampedAbove));
            Assert.Equal(expected.Percentiles([50_000, 99_000]), read.Percentiles([50_000, 99_000]));
        }

        // The version byte and the encoding must agree.
        Assert.Throws<InvalidDataException>(() => LatencyHistogram.Codec.Decode([2, .. version1]));
        Assert.Throws<InvalidDataException>(() => LatencyHistogram.Codec.Decode([1, .. today]));
    }

    [Fact]
    public void Todays_latency_aggregate_bytes_decode_to_equal_values_and_are_written_again_byte_for_byte()
    {
        var decoded = LatencyAggregate.Codec.Decode(Convert.FromHexString(AggregateHex));
        var expected = Aggregate();
        Assert.Equal(
            (expected.Count, expected.ErrorCount, expected.LateCount, expected.BatchSizeSum, expected.BatchSizeCount, expected.BatchSizeMax),
            (decoded.Count, decoded.ErrorCount, decoded.LateCount, decoded.BatchSizeSum, decoded.BatchSizeCount, decoded.BatchSizeMax));
        Assert.Equal(expected.SliThresholdsUs, decoded.SliThresholdsUs);
        Assert.Equal(expected.SliGood, decoded.SliGood);
        for (var i = 0; i < expected.Stages.Length; i++)
        {
            AssertEqual(expected.Stages[i], decoded.Stages[i]);
        }

        Assert.Equal(AggregateHex, Convert.ToHexString(LatencyAggregate.Codec.Encode(expected)));
        Assert.Equal(AggregateHex, Convert.ToHexString(LatencyAggregate.Codec.Encode(decoded)));
    }

    [Fact]
    public void Todays_drift_aggregate_bytes_decode_to_equal_values_and_are_written_again_byte_for_byte()
    {
        var decoded = DriftAggregate.Codec.Decode(Convert.FromHexString(DriftHex));
        var expected = Drift();
        Assert.Equal(expected.Count, decoded.Count);
        Assert.Equal(expected.Numeric.Length, decoded.Numeric.Length);
        for (var i = 0; i < expected.Numeric.Length; i++)
        {
            AssertEqual(expected.Numeric[i], decoded.Numeric[i]);
        }

        AssertEqual(expected.Score!, decoded.Score!);
        Assert.Equal(expected.Categorical[0].Counts, decoded.Categorical[0].Counts);
        Assert.Equal((expected.Categorical[0].Nulls, expected.Categorical[0].Count), (decoded.Categorical[0].Nulls, decoded.Categorical[0].Count));
        Assert.Equal(DriftHex, Convert.ToHexString(DriftAggregate.Codec.Encode(expected)));
        Assert.Equal(DriftHex, Convert.ToHexString(DriftAggregate.Codec.Encode(decoded)));
    }

    [Fact]
    public void Todays_window_bytes_decode_to_equal_values_and_version_1_numeric_windows_read_without_outside_values()
    {
        var expected = Drift();
        Assert.Equal(NumericHex, Convert.ToHexString(Bytes(w => NumericWindow.Codec.Write(w, expected.Numeric[0]))));
        Assert.Equal(CategoricalHex, Convert.ToHexString(Bytes(w => CategoricalWindow.Codec.Write(w, expected.Categorical[0]))));
        var numeric = Convert.FromHexString(NumericHex);
        AssertEqual(expected.Numeric[0], NumericWindow.Codec.Read(Reader(numeric), 2));
        var categorical = CategoricalWindow.Codec.Read(Reader(Convert.FromHexString(CategoricalHex)), 1);
        Assert.Equal(expected.Categorical[0].Counts, categorical.Counts);

        // Version 1 ended after the cells: today's bytes less the outside values (a count, then each value with its count).
        var outside = expected.Numeric[0].OutsideValues.Count;
        Assert.Equal(3, outside);
        var version1 = NumericWindow.Codec.Read(Reader(numeric[..^(4 + (16 * outside))]), 1);
        Assert.Empty(version1.OutsideValues);
        Assert.Equal(expected.Numeric[0].CellCounts, version1.CellCounts);
        Assert.Equal((expected.Numeric[0].Count, expected.Numeric[0].Nulls, expected.Numeric[0].Min, expected.Numeric[0].Max), (version1.Count, version1.Nulls, version1.Min, version1.Max));
    }

    [Fact]
    public void Every_codec_round_trips_its_value()
    {
        AssertEqual(Histogram(), LatencyHistogram.Codec.Decode(LatencyHistogram.Codec.Encode(Histogram())));
        Assert.Equal(LatencyAggregate.Codec.Encode(Aggregate()), LatencyAggregate.Codec.Encode(LatencyAggregate.Codec.Decode(LatencyAggregate.Codec.Encode(Aggregate()))));
        Assert.Equal(DriftAggregate.Codec.Encode(Drift()), DriftAggregate.Codec.Encode(DriftAggregate.Codec.Decode(DriftAggregate.Codec.Encode(Drift()))));
        var numeric = Drift().Numeric[0];
        AssertEqual(numeric, NumericWindow.Codec.Decode(NumericWindow.Codec.Encode(numeric)));
        var categorical = Drift().Categorical[0];
        Assert.Equal(categorical.Counts, CategoricalWindow.Codec.Decode(CategoricalWindow.Codec.Encode(categorical)).Counts);
    }

    [Fact]
    public void Truncated_records_and_unknown_versions_fail_with_invalid_data()
    {
        var records = new (byte[] Record, Func<byte[], object> Decode)[]
        {
            (LatencyHistogram.Codec.Encode(Histogram()), b => LatencyHistogram.Codec.Decode(b)),
            (LatencyAggregate.Codec.Encode(Aggregate()), b => LatencyAggregate.Codec.Decode(b)),
            (DriftAggregate.Codec.Encode(Drift()), b => DriftAggregate.Codec.Decode(b)),
            (NumericWindow.Codec.Encode(Drift().Numeric[0]), b => NumericWindow.Codec.Decode(b)),
            (CategoricalWindow.Codec.Encode(Drift().Categorical[0]), b => CategoricalWindow.Codec.Decode(b)),
        };
        foreach (var (record, decode) in records)
        {
            for (var length = 0; length < record.Length; length++)
            {
                Assert.Throws<InvalidDataException>(() => decode(record[..length]));
            }

            Assert.Throws<InvalidDataException>(() => decode([0, .. record[1..]]));
            Assert.Throws<InvalidDataException>(() => decode([(byte)(record[0] + 1), .. record[1..]]));
        }
    }

    private static void AssertEqual(LatencyHistogram expected, LatencyHistogram actual)
    {
        Assert.Equal(
            (expected.Count, expected.Sum, expected.Min, expected.Max, expected.ClampedBelow, expected.ClampedAbove),
            (actual.Count, actual.Sum, actual.Min, actual.Max, actual.ClampedBelow, actual.ClampedAbove));
        Assert.Equal(expected.Histogram.RecordedValues().Select(b => (b.ValueIteratedTo, b.CountAtValueIteratedTo)), actual.Histogram.RecordedValues().Select(b => (b.ValueIteratedTo, b.CountAtValueIteratedTo)));
    }

    private static void AssertEqual(NumericWindow expected, NumericWindow actual)
    {
        Assert.Equal(expected.CellCounts, actual.CellCounts);
        Assert.Equal((expected.Count, expected.Nulls, expected.Min, expected.Max), (actual.Count, actual.Nulls, actual.Min, actual.Max));
        Assert.Equal(expected.OutsideValues, actual.OutsideValues);
    }

    private static BinaryReader Reader(byte[] bytes) => new(new MemoryStream(bytes, writable: false));

    private static byte[] Bytes(Action<BinaryWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer))
        {
            write(writer);
        }

        return buffer.ToArray();
    }
}
