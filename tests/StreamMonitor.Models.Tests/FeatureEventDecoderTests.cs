using System.Buffers.Binary;
using System.Text;
using StreamMonitor.Contracts;
using StreamMonitor.Models.Inference;

namespace StreamMonitor.Models.Tests;

public sealed class FeatureEventDecoderTests
{
    private static readonly string[] Names = ["mean radius", "texture", "é", "радиус", "特征", "😀x", "", "a\u0000b", "worst area"];

    private readonly EventCodec _codec = new();

    [Fact]
    public void The_fast_decoder_reads_exactly_what_the_codec_reads()
    {
        var decoder = new FeatureEventDecoder(_codec);
        Assert.True(decoder.IsFastPath);
        var random = new Random(20261123);
        for (var n = 0; n < 3000; n++)
        {
            var ev = RandomEvent(random);
            var bytes = _codec.Serialize(ev);
            AssertSame(_codec.Deserialize<FeatureEvent>(bytes), decoder.Decode(bytes));
            AssertSame(ev, decoder.Decode(bytes));

            // The same event written in several map blocks, some with a negative count and a byte size.
            var blocks = Encode(ev, random);
            AssertSame(_codec.Deserialize<FeatureEvent>(blocks), decoder.Decode(blocks));
            AssertSame(ev, decoder.Decode(blocks));
        }
    }

    [Fact]
    public void Corrupt_and_truncated_bodies_fail_with_the_codecs_reason_codes()
    {
        var decoder = new FeatureEventDecoder(_codec);
        var random = new Random(7);
        var compared = 0;
        var failures = 0;
        for (var n = 0; n < 300; n++)
        {
            var valid = random.Next(2) == 0 ? _codec.Serialize(RandomEvent(random)) : Encode(RandomEvent(random), random);
            var variants = new List<byte[]>();
            for (var length = 0; length < valid.Length; length++)
            {
                variants.Add(valid[..length]);
            }

            for (var k = 0; k < 20; k++)
            {
                var mutated = (byte[])valid.Clone();
                var at = random.Next(EventCodec.HeaderLength, mutated.Length);
                mutated[at] = random.Next(4) switch
                {
                    0 => 0xFF,
                    1 => 0x7F,
                    2 => (byte)(mutated[at] ^ (1 << random.Next(8))),
                    _ => (byte)random.Next(256),
                };
                variants.Add(mutated);
            }

            variants.Add([.. valid, 0]);
            foreach (var bytes in variants)
            {
                var expected = Outcome(() => _codec.Deserialize<FeatureEvent>(bytes));
                var actual = Outcome(() => decoder.Decode(bytes));
                Assert.Equal(expected.Code, actual.Code);
                if (expected.Event is { } e)
                {
                    AssertSame(e, actual.Event!);
                }
                else
                {
                    failures++;
                }

                compared++;
            }
        }

        Assert.True(failures > compared / 2, $"{failures} of {compared} variants failed to decode");
    }

    [Fact]
    public void Hostile_lengths_and_block_counts_are_rejected_without_allocating_them()
    {
        var decoder = new FeatureEventDecoder(_codec);
        var header = _codec.Serialize(new FeatureEvent())[..EventCodec.HeaderLength];
        byte[][] bodies =
        [
            [.. header, 0xFE, 0xFF, 0xFF, 0xFF, 0x0F],                     // event_id of 2^31 - 1 bytes
            [.. header, 0, 0, 0, 0, 0xFE, 0xFF, 0xFF, 0xFF, 0x0F],       // a features block of 2^31 - 1 items
            [.. header, 0, 0, 0, 0, 0x01, 0x00],                         // a block of -1 items without its size
            [.. header, 0, 0, 0, 0, 0x02, 0x02, 0x61, 0x04, 0, 0],       // union index 2
            [.. header, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], // 11-byte varint
        ];
        foreach (var body in bodies)
        {
            var ex = Assert.Throws<EventDecodeException>(() => decoder.Decode(body));
            Assert.Equal("DECODE_CORRUPT_BODY", ex.ReasonCode);
            Assert.Equal(ex.ReasonCode, Assert.Throws<EventDecodeException>(() => _codec.Deserialize<FeatureEvent>(body)).ReasonCode);
        }

        Assert.Equal("DECODE_TRUNCATED", Assert.Throws<EventDecodeException>(() => decoder.Decode([0xC3, 0x01, 1])).ReasonCode);
        Assert.Equal("DECODE_BAD_MARKER", Assert.Throws<EventDecodeException>(() => decoder.Decode([.. "xx"u8, .. header[2..]])).ReasonCode);
        var unknown = (byte[])header.Clone();
        unknown[9] ^= 0x55;
        Assert.Equal("DECODE_UNKNOWN_FINGERPRINT", Assert.Throws<EventDecodeException>(() => decoder.Decode([.. unknown, 0, 0, 0, 0, 0, 0])).ReasonCode);
    }

    [Fact]
    public void Invalid_utf8_in_any_string_is_a_corrupt_body_never_a_replacement_character()
    {
        // Regression (issue #11): lenient UTF-8 turned these into U+FFFD, so two different invalid event ids became
        // one valid-looking id and the event was scored under it.
        var decoder = new FeatureEventDecoder(_codec);
        byte[][] invalid = [[0xFF], [0x80], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82]];
        foreach (var sequence in invalid)
        {
            foreach (var field in new[] { "event_id", "model_name", "entity_id", "feature", "categorical" })
            {
                var body = Encode(sequence, field);
                var ex = Assert.Throws<EventDecodeException>(() => decoder.Decode(body));
                Assert.Equal("DECODE_CORRUPT_BODY", ex.ReasonCode);
                Assert.Equal(ex.ReasonCode, Assert.Throws<EventDecodeException>(() => _codec.Deserialize<FeatureEvent>(body)).ReasonCode);
            }
        }

        // The same bytes, valid: the event decodes, so the failures above are the invalid sequences' alone.
        Assert.Equal("e-\u00e9", decoder.Decode(Encode("\u00e9"u8.ToArray(), "event_id")).EventId);

        byte[] Encode(byte[] sequence, string field)
        {
            byte[] Text(string name) => name == field ? [.. "e-"u8, .. sequence] : Encoding.UTF8.GetBytes(name == "event_id" ? "e-1" : name);
            var output = new List<byte>(_codec.Serialize(new FeatureEvent())[..EventCodec.HeaderLength]);
            foreach (var name in new[] { "event_id", "model_name", "entity_id" })
            {
                Bytes(output, Text(name));
            }

            Long(output, 1_700_000_000_000);
            Long(output, 1);
            Bytes(output, Text("feature"));
            Long(output, 1);
            output.AddRange(BitConverter.GetBytes(1.5));
            Long(output, 0);
            Long(output, 1);
            Bytes(output, "c"u8.ToArray());
            Long(output, 1);
            Bytes(output, Text("categorical"));
            Long(output, 0);
            return [.. output];
        }
    }

    [Fact]
    public void Another_writer_schema_goes_through_the_codec()
    {
        var decoder = new FeatureEventDecoder(_codec);
        var label = _codec.Serialize(new Label { EventId = "e1" });
        Assert.Equal(
            Assert.Throws<EventDecodeException>(() => _codec.Deserialize<FeatureEvent>(label)).ReasonCode,
            Assert.Throws<EventDecodeException>(() => decoder.Decode(label)).ReasonCode);
        Assert.False(decoder.TryDecode(label, out var value, out var error));
        Assert.Null(value);
        Assert.Equal("DECODE_SCHEMA_MISMATCH", error!.ReasonCode);
    }

    private static (FeatureEvent? Event, string Code) Outcome(Func<FeatureEvent> decode)
    {
        try
        {
            return (decode(), "OK");
        }
        catch (EventDecodeException ex)
        {
            return (null, ex.ReasonCode);
        }
    }

    private static FeatureEvent RandomEvent(Random random)
    {
        var ev = new FeatureEvent
        {
            EventId = Guid.NewGuid().ToString(),
            ModelName = Names[random.Next(Names.Length)],
            EntityId = random.Next(5) == 0 ? "" : $"entity-{random.Next()}",
            EventTimeMs = random.Next(4) switch { 0 => long.MinValue, 1 => long.MaxValue, _ => random.NextInt64(-1L << 50, 1L << 50) },
        };
        var featureCount = random.Next(4) == 0 ? 0 : random.Next(1, 40);
        for (var i = 0; i < featureCount; i++)
        {
            ev.Features[random.Next(3) == 0 ? $"{Names[random.Next(Names.Length)]}{i}" : $"f{i}"] = random.Next(10) switch
            {
                0 => null,
                1 => double.NaN,
                2 => random.Next(2) == 0 ? double.PositiveInfinity : double.NegativeInfinity,
                3 => double.MaxValue,
                4 => -0.0,
                _ => (random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-10, 10)),
            };
        }

        if (random.Next(2) == 0)
        {
            for (var i = random.Next(1, 6); i > 0; i--)
            {
                ev.Categorical[$"{Names[random.Next(Names.Length)]}-{i}"] = random.Next(4) == 0 ? null : Names[random.Next(Names.Length)] + i;
            }
        }

        return ev;
    }

    /// <summary>Writes the event's body as a conforming Avro writer may: maps split into random blocks.</summary>
    private byte[] Encode(FeatureEvent ev, Random random)
    {
        var header = _codec.Serialize(new FeatureEvent())[..EventCodec.HeaderLength];
        var output = new List<byte>(header);
        String(output, ev.EventId);
        String(output, ev.ModelName);
        String(output, ev.EntityId);
        Long(output, ev.EventTimeMs);
        Map(output, ev.Features.ToList(), random, (o, v) =>
        {
            Long(o, v is null ? 0 : 1);
            if (v is { } d)
            {
                var bytes = new byte[8];
                BinaryPrimitives.WriteDoubleLittleEndian(bytes, d);
                o.AddRange(bytes);
            }
        });
        Map(output, ev.Categorical.ToList(), random, (o, v) =>
        {
            Long(o, v is null ? 0 : 1);
            if (v is { } s)
            {
                String(o, s);
            }
        });
        return [.. output];
    }

    private static void Map<T>(List<byte> output, List<KeyValuePair<string, T>> items, Random random, Action<List<byte>, T> value)
    {
        var i = 0;
        while (i < items.Count)
        {
            var size = random.Next(1, items.Count - i + 1);
            var block = new List<byte>();
            foreach (var (k, v) in items.Skip(i).Take(size))
            {
                String(block, k);
                value(block, v);
            }

            if (random.Next(2) == 0)
            {
                Long(output, -size);
                Long(output, block.Count);
            }
            else
            {
                Long(output, size);
            }

            output.AddRange(block);
            i += size;
        }

        Long(output, 0);
    }

    private static void Long(List<byte> output, long value)
    {
        var n = (ulong)((value << 1) ^ (value >> 63));
        while (n >= 0x80)
        {
            output.Add((byte)(n | 0x80));
            n >>= 7;
        }

        output.Add((byte)n);
    }

    private static void String(List<byte> output, string value) => Bytes(output, Encoding.UTF8.GetBytes(value));

    private static void Bytes(List<byte> output, byte[] bytes)
    {
        Long(output, bytes.Length);
        output.AddRange(bytes);
    }

    [Fact]
    public void Json_records_reach_the_scorer_through_the_same_reader_as_the_codecs()
    {
        var decoder = new FeatureEventDecoder(_codec);
        var random = new Random(12);
        for (var n = 0; n < 500; n++)
        {
            var ev = RandomEvent(random);
            ev.Features = ev.Features.Where(f => f.Value is not { } v || double.IsFinite(v)).ToDictionary();
            var json = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object?>
            {
                ["event_id"] = ev.EventId, ["model_name"] = ev.ModelName, ["entity_id"] = ev.EntityId,
                ["event_time_ms"] = ev.EventTimeMs, ["features"] = ev.Features, ["categorical"] = ev.Categorical,
            });
            AssertSame(ev, decoder.Decode(json));
            AssertSame(_codec.Deserialize<FeatureEvent>(json), decoder.Decode(json));
        }

        Assert.False(decoder.TryDecode("{\"event_id\":1}"u8.ToArray(), out _, out var error));
        Assert.Equal("DECODE_JSON", error!.ReasonCode);
    }

    private static void AssertSame(FeatureEvent expected, FeatureEvent actual)
    {
        Assert.Equal(expected.EventId, actual.EventId);
        Assert.Equal(expected.ModelName, actual.ModelName);
        Assert.Equal(expected.EntityId, actual.EntityId);
        Assert.Equal(expected.EventTimeMs, actual.EventTimeMs);
        Assert.Equal(expected.Features.Count, actual.Features.Count);
        foreach (var (name, value) in expected.Features)
        {
            Assert.True(actual.Features.TryGetValue(name, out var other), $"feature '{name}' missing");
            Assert.Equal(value.HasValue, other.HasValue);
            if (value is { } v)
            {
                Assert.Equal(BitConverter.DoubleToInt64Bits(v), BitConverter.DoubleToInt64Bits(other!.Value));
            }
        }

        Assert.Equal(expected.Categorical.OrderBy(p => p.Key, StringComparer.Ordinal), actual.Categorical.OrderBy(p => p.Key, StringComparer.Ordinal));
    }
}
