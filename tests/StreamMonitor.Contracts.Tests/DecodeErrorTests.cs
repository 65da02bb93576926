using System.Buffers.Binary;
using StreamMonitor.Contracts;

namespace StreamMonitor.Contracts.Tests;

/// <summary>Bytes that are not a valid event are rejected with the right typed reason, and nothing else is ever thrown.</summary>
public sealed class DecodeErrorTests
{
    private static readonly EventCodec Codec = new();

    private static FeatureEvent Sample() => new()
    {
        EventId = "ev-1",
        ModelName = "breast-cancer",
        EntityId = "patient-7",
        EventTimeMs = 1_700_000_000_000,
        Features = new() { ["radius_mean"] = 14.2, ["texture_mean"] = null },
        Categorical = new() { ["site"] = "north", ["device"] = null },
    };

    private static EventDecodeException Reject<T>(byte[] bytes)
        where T : class
    {
        var error = Assert.Throws<EventDecodeException>(() => Codec.Deserialize<T>(bytes));
        Assert.False(Codec.TryDeserialize<T>(bytes, out var value, out var tryError));
        Assert.Null(value);
        Assert.Equal(error.Error, tryError!.Error);
        return error;
    }

    [Fact]
    public void Corrupt_marker_is_BadMarker()
    {
        var bytes = Codec.Serialize(Sample());
        bytes[1] = 0x02;
        var error = Reject<FeatureEvent>(bytes);
        Assert.Equal(DecodeError.BadMarker, error.Error);
        Assert.Equal("DECODE_BAD_MARKER", error.ReasonCode);
    }

    [Fact]
    public void Unknown_fingerprint_is_UnknownFingerprint()
    {
        var bytes = Codec.Serialize(Sample());
        bytes[5] ^= 0xFF;
        var error = Reject<FeatureEvent>(bytes);
        Assert.Equal(DecodeError.UnknownFingerprint, error.Error);
        Assert.Equal("DECODE_UNKNOWN_FINGERPRINT", error.ReasonCode);
    }

    [Fact]
    public void Another_record_type_is_SchemaMismatch()
    {
        var bytes = Codec.Serialize(new Label { EventId = "ev-1", Value = 1, LabelTimeMs = 5 });
        var error = Reject<FeatureEvent>(bytes);
        Assert.Equal(DecodeError.SchemaMismatch, error.Error);
        Assert.Equal("DECODE_SCHEMA_MISMATCH", error.ReasonCode);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(9)]
    public void Shorter_than_the_header_is_Truncated(int length)
    {
        var bytes = Codec.Serialize(Sample())[..length];
        Assert.Equal(DecodeError.Truncated, Reject<FeatureEvent>(bytes).Error);
    }

    [Fact]
    public void Every_cut_of_the_body_is_rejected_as_CorruptBody()
    {
        var bytes = Codec.Serialize(Sample());
        for (var length = EventCodec.HeaderLength; length < bytes.Length; length++)
        {
            var error = Reject<FeatureEvent>(bytes[..length]);
            Assert.True(error.Error == DecodeError.CorruptBody, $"cut at {length}: {error.Error}");
        }
    }

    [Fact]
    public void Trailing_bytes_are_CorruptBody()
    {
        var bytes = Codec.Serialize(Sample());
        var error = Reject<FeatureEvent>([.. bytes, 0x00]);
        Assert.Equal(DecodeError.CorruptBody, error.Error);
        Assert.Contains("trailing", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Null_input_is_an_argument_error_not_a_decode_error() =>
        Assert.Throws<ArgumentNullException>(() => Codec.Deserialize<FeatureEvent>(null!));

    [Fact]
    public void Random_bytes_only_ever_raise_EventDecodeException()
    {
        var random = new Random(20261122);
        for (var i = 0; i < 5_000; i++)
        {
            var bytes = new byte[random.Next(0, 64)];
            random.NextBytes(bytes);
            AssertOnlyDecodeErrors<FeatureEvent>(bytes);
        }
    }

    [Fact]
    public void Random_bodies_behind_valid_headers_only_ever_raise_EventDecodeException()
    {
        var random = new Random(7);
        var headers = new (Func<byte[], bool> Decode, byte[] Header)[]
        {
            (b => Attempt<FeatureEvent>(b), Codec.Serialize(Sample())[..EventCodec.HeaderLength]),
            (b => Attempt<Prediction>(b), Codec.Serialize(new Prediction())[..EventCodec.HeaderLength]),
            (b => Attempt<LatencyWindowResult>(b), Codec.Serialize(new LatencyWindowResult())[..EventCodec.HeaderLength]),
            (b => Attempt<DriftWindowResult>(b), Codec.Serialize(new DriftWindowResult())[..EventCodec.HeaderLength]),
            (b => Attempt<QualityWindowResult>(b), Codec.Serialize(new QualityWindowResult())[..EventCodec.HeaderLength]),
            (b => Attempt<SloStatus>(b), Codec.Serialize(new SloStatus())[..EventCodec.HeaderLength]),
            (b => Attempt<Alert>(b), Codec.Serialize(new Alert())[..EventCodec.HeaderLength]),
            (b => Attempt<DeadLetter>(b), Codec.Serialize(new DeadLetter())[..EventCodec.HeaderLength]),
            (b => Attempt<Label>(b), Codec.Serialize(new Label())[..EventCodec.HeaderLength]),
        };
        foreach (var (decode, header) in headers)
        {
            for (var i = 0; i < 3_000; i++)
            {
                var body = new byte[random.Next(0, 96)];
                random.NextBytes(body);
                decode([.. header, .. body]);
            }
        }
    }

    [Fact]
    public void Single_byte_mutations_of_a_valid_event_only_ever_raise_EventDecodeException()
    {
        var original = Codec.Serialize(Sample());
        var random = new Random(11);
        for (var position = EventCodec.HeaderLength; position < original.Length; position++)
        {
            for (var i = 0; i < 64; i++)
            {
                var bytes = (byte[])original.Clone();
                bytes[position] = (byte)random.Next(256);
                Attempt<FeatureEvent>(bytes);
            }
        }
    }

    [Fact]
    public void A_huge_declared_length_is_rejected_without_allocating_it()
    {
        // Header of a Label, then a string length of 2^30 bytes (zig-zag varint) with no bytes behind it.
        var header = Codec.Serialize(new Label())[..EventCodec.HeaderLength];
        Span<byte> length = stackalloc byte[5];
        var n = WriteZigZag(length, 1L << 30);
        var before = GC.GetTotalAllocatedBytes(precise: true);
        var error = Reject<Label>([.. header, .. length[..n]]);
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        Assert.Equal(DecodeError.CorruptBody, error.Error);
        Assert.True(allocated < 64 * 1024 * 1024, $"decoding allocated {allocated} bytes");
    }

    private static int WriteZigZag(Span<byte> destination, long value)
    {
        var encoded = (ulong)((value << 1) ^ (value >> 63));
        var i = 0;
        while (encoded >= 0x80)
        {
            destination[i++] = (byte)(encoded | 0x80);
            encoded >>= 7;
        }

        destination[i++] = (byte)encoded;
        return i;
    }

    private static bool Attempt<T>(byte[] bytes)
        where T : class
    {
        try
        {
            Codec.Deserialize<T>(bytes);
            return true;
        }
        catch (EventDecodeException)
        {
            return false;
        }
    }

    private static void AssertOnlyDecodeErrors<T>(byte[] bytes)
        where T : class
    {
        if (bytes.Length >= EventCodec.HeaderLength && BinaryPrimitives.ReadUInt16BigEndian(bytes) == 0xC301)
        {
            Attempt<T>(bytes);
            return;
        }

        Assert.Throws<EventDecodeException>(() => Codec.Deserialize<T>(bytes));
    }
}
