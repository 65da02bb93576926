using HdrHistogram;
using HdrHistogram.Utilities;
using StreamMonitor.Contracts.State;

namespace StreamMonitor.Analytics.Latency;

/// <summary>
/// A mergeable latency distribution in microseconds: an HdrHistogram with 2 significant digits over [1 µs, 1 h]
/// plus exact count, sum, min and max.
/// <para>Error bound: with 2 significant digits HdrHistogram uses 256 sub-buckets, so a bucket holding values at or
/// above 128·2^k has width 2^k: width / lowest value ≤ 1/128. A percentile is reported as the midpoint of the bucket
/// holding the exact nearest-rank value (rank = ⌈q·n⌉), clamped to the exact [min, max]; hence
/// |reported − exact| ≤ exact / 256 (0.39 %) at every percentile. HdrHistogram's own GetValueAtPercentile
/// would return the top of the bucket (error up to 0.78 %, always upwards) and uses rank round(q·n); neither is used.</para>
/// <para>Values above 1 h are recorded as 1 h (<see cref="ClampedAbove"/>), negative values as 0
/// (<see cref="ClampedBelow"/>). The bound holds only for a percentile whose nearest rank falls on a value that was not
/// clamped (<see cref="IsWithinBound"/>); at a rank among the values above 1 h the reported 1 h is a lower bound of
/// the exact value. Merging adds bucket counts: the merge of partial histograms is identical to one built from all values.</para>
/// </summary>
public sealed class LatencyHistogram : IMergeable<LatencyHistogram>
{
    /// <summary>Highest trackable value: one hour in microseconds.</summary>
    public const long HighestTrackableUs = 3_600_000_000;

    /// <summary>Significant decimal digits of the histogram.</summary>
    public const int SignificantDigits = 2;

    /// <summary>Stated bound on the relative error of every reported percentile within the range (see <see cref="IsWithinBound"/>).</summary>
    public const double RelativeErrorBound = 1.0 / 256;

    /// <summary>
    /// First long of the encoding since the clamp counts were split: the first encoding began with the count, which is
    /// never negative.
    /// </summary>
    private const long SplitClampEncoding = -2;

    private IntHistogram _histogram = Create();

    /// <summary>Number of recorded values.</summary>
    public long Count { get; private set; }

    /// <summary>Exact sum of recorded (clamped) values.</summary>
    public long Sum { get; private set; }

    /// <summary>Exact smallest recorded value (long.MaxValue when empty).</summary>
    public long Min { get; private set; } = long.MaxValue;

    /// <summary>Exact largest recorded value before clamping (long.MinValue when empty).</summary>
    public long Max { get; private set; } = long.MinValue;

    /// <summary>Values outside [0, <see cref="HighestTrackableUs"/>] that were clamped.</summary>
    public long Clamped => ClampedBelow + ClampedAbove;

    /// <summary>Negative values, recorded as 0.</summary>
    public long ClampedBelow { get; private set; }

    /// <summary>Values above <see cref="HighestTrackableUs"/>, recorded as it.</summary>
    public long ClampedAbove { get; private set; }

    /// <summary>The underlying histogram (read-only use: tests compare bucket counts).</summary>
    public HistogramBase Histogram => _histogram;

    /// <summary>Records one value.</summary>
    public void Record(long valueUs)
    {
        var max = valueUs;
        if (valueUs < 0)
        {
            valueUs = 0;
            max = 0;
            ClampedBelow++;
        }
        else if (valueUs > HighestTrackableUs)
        {
            valueUs = HighestTrackableUs;
            ClampedAbove++;
        }

        _histogram.RecordValue(valueUs);
        Count++;
        Sum += valueUs;
        Min = Math.Min(Min, valueUs);
        Max = Math.Max(Max, max);
    }

    /// <inheritdoc />
    public void MergeFrom(LatencyHistogram other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other.Count == 0)
        {
            return;
        }

        _histogram.Add(other._histogram);
        Count += other.Count;
        Sum += other.Sum;
        Min = Math.Min(Min, other.Min);
        Max = Math.Max(Max, other.Max);
        ClampedBelow += other.ClampedBelow;
        ClampedAbove += other.ClampedAbove;
    }

    /// <summary>Mean of the recorded values (NaN when empty).</summary>
    public double Mean => Count == 0 ? double.NaN : (double)Sum / Count;

    /// <summary>
    /// Values at the given quantiles, each given in parts per 100 000 (p99.9 = 99 900), by nearest rank ⌈q·n⌉;
    /// see the class remarks for the error bound. Quantiles must be ascending. Empty histogram: all zero.
    /// </summary>
    public long[] Percentiles(ReadOnlySpan<int> partsPer100k)
    {
        var result = new long[partsPer100k.Length];
        if (Count == 0)
        {
            return result;
        }

        var ranks = new long[partsPer100k.Length];
        for (var i = 0; i < ranks.Length; i++)
        {
            ranks[i] = NearestRank(Count, partsPer100k[i]);
        }

        var next = 0;
        long seen = 0;
        foreach (var bucket in _histogram.RecordedValues())
        {
            seen += bucket.CountAtValueIteratedTo;
            while (next < ranks.Length && seen >= ranks[next])
            {
                var mid = _histogram.MedianEquivalentValue(bucket.ValueIteratedTo);
                result[next++] = Math.Clamp(mid, Min, Math.Min(Max, HighestTrackableUs));
            }

            if (next == ranks.Length)
            {
                break;
            }
        }

        return result;
    }

    /// <summary>
    /// True when the percentile (parts per 100 000) holds the relative error bound: its nearest rank falls on a value
    /// recorded without clamping. Empty histogram: true (nothing is claimed).
    /// </summary>
    public bool IsWithinBound(int partsPer100k)
    {
        if (Count == 0)
        {
            return true;
        }

        var rank = NearestRank(Count, partsPer100k);
        return rank > ClampedBelow && rank <= Count - ClampedAbove;
    }

    /// <summary>Nearest rank ⌈q·n⌉ (at least 1) for q in parts per 100 000, in exact integer arithmetic.</summary>
    public static long NearestRank(long count, int partsPer100k) => Math.Max(1, ((count * partsPer100k) + 99_999) / 100_000);

    /// <summary>
    /// The binary format: HdrHistogram's V2 compressed encoding, the exact moments and the clamp counts. Version 1 had
    /// one clamp count, version 2 one per side. The format marks its version in its first long as well (version 1
    /// began with the count, which is never negative; version 2 begins with a marker), so aggregates and window results
    /// store a histogram without the version byte: <see cref="IStateCodec{T}.Write"/> and <see cref="ReadEmbedded"/>.
    /// </summary>
    public static IStateCodec<LatencyHistogram> Codec { get; } = new Format();

    /// <summary>Reads a histogram stored without the version byte (either version, told by its first long).</summary>
    /// <exception cref="InvalidDataException">The encoding is unknown or inconsistent.</exception>
    public static LatencyHistogram ReadEmbedded(BinaryReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var first = reader.ReadInt64();
        if (first != SplitClampEncoding && first < 0)
        {
            throw new InvalidDataException($"Unknown latency histogram encoding ({first}).");
        }

        return ReadBody(reader, first);
    }

    /// <summary>
    /// The rest of either version after its first long. In version 1 the clamped values count as above the range when
    /// the exact max is, else as below (negative timings are rejected before they get here, so that encoding holds
    /// values clamped on one side only).
    /// </summary>
    private static LatencyHistogram ReadBody(BinaryReader reader, long first)
    {
        var split = first == SplitClampEncoding;
        var result = new LatencyHistogram { Count = split ? reader.ReadInt64() : first };
        if (result.Count == 0)
        {
            return result;
        }

        result.Sum = reader.ReadInt64();
        result.Min = reader.ReadInt64();
        result.Max = reader.ReadInt64();
        if (split)
        {
            result.ClampedBelow = reader.ReadInt64();
            result.ClampedAbove = reader.ReadInt64();
        }
        else
        {
            var clamped = reader.ReadInt64();
            (result.ClampedAbove, result.ClampedBelow) = result.Max > HighestTrackableUs ? (clamped, 0L) : (0L, clamped);
        }

        if (result.Count < 0 || result.ClampedBelow < 0 || result.ClampedAbove < 0 || result.Clamped > result.Count)
        {
            throw new InvalidDataException("Inconsistent latency histogram counts.");
        }

        var length = reader.ReadInt32();
        var bytes = reader.ReadBytes(length);
        if (bytes.Length != length)
        {
            throw new EndOfStreamException("Truncated histogram.");
        }

        var decoded = HistogramEncoding.DecodeFromCompressedByteBuffer(ByteBuffer.Allocate(bytes), HighestTrackableUs);
        result._histogram.Add(decoded);
        if (result._histogram.TotalCount != result.Count)
        {
            throw new InvalidDataException($"Histogram holds {result._histogram.TotalCount} values; header says {result.Count}.");
        }

        return result;
    }

    /// <summary>Bytes of the counts array (memory accounting).</summary>
    public int FootprintBytes => _histogram.GetEstimatedFootprintInBytes();

    private static IntHistogram Create() => new(1, HighestTrackableUs, SignificantDigits);

    private sealed class Format : IStateCodec<LatencyHistogram>
    {
        public byte Version => 2;

        public void Write(BinaryWriter writer, LatencyHistogram value)
        {
            ArgumentNullException.ThrowIfNull(writer);
            ArgumentNullException.ThrowIfNull(value);
            writer.Write(SplitClampEncoding);
            writer.Write(value.Count);
            if (value.Count == 0)
            {
                return;
            }

            writer.Write(value.Sum);
            writer.Write(value.Min);
            writer.Write(value.Max);
            writer.Write(value.ClampedBelow);
            writer.Write(value.ClampedAbove);
            var buffer = ByteBuffer.Allocate(value._histogram.GetNeededByteBufferCapacity());
            var length = value._histogram.EncodeIntoCompressedByteBuffer(buffer);
            writer.Write(length);
            buffer.Position = 0;
            for (var i = 0; i < length; i++)
            {
                writer.Write(buffer.Get());
            }
        }

        public LatencyHistogram Read(BinaryReader reader, byte version)
        {
            ArgumentNullException.ThrowIfNull(reader);
            var first = reader.ReadInt64();
            if (version == 2 ? first != SplitClampEncoding : first < 0)
            {
                throw new InvalidDataException($"Latency histogram version {version} cannot begin with {first}.");
            }

            return ReadBody(reader, first);
        }
    }
}
