using System.Text;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.Validation;
using StreamMonitor.Models.Inference;
using StreamMonitor.Models.Store;

namespace StreamMonitor.Scorer.Tests;

/// <summary>
/// The backfill's straight-to-row decoder against the FeatureEvent way it replaces for good records (decode,
/// record policy, model check, validator fill): on random records, good and bad, it accepts only what that way
/// accepts, writes bit for bit the same row, and accepts every current-schema Avro record that way accepts.
/// </summary>
public sealed class FeatureRowDecoderTests
{
    private static readonly EventCodec Codec = new();
    private static readonly string[] Features = ["mean radius", "texture", "é", "радиус", "😀x", "worst area"];
    private static readonly ModelManifest Manifest = new()
    {
        Name = "cancer",
        Version = "1",
        Features = Features,
        FeatureMeans = [1.5, -2.25, 3, 0.125, 1e6, -7],
    };

    private const long RecordTimeMs = 1_700_000_000_000;

    [Theory]
    [InlineData(false, NonFinitePolicy.Reject, true)]
    [InlineData(false, NonFinitePolicy.ImputeMean, true)]
    [InlineData(false, NonFinitePolicy.Reject, false)]
    [InlineData(true, NonFinitePolicy.Reject, true)]
    [InlineData(true, NonFinitePolicy.ImputeMean, false)]
    public void Random_records_decode_into_the_row_the_validator_writes_or_take_the_feature_event_way(bool inputIsDouble, NonFinitePolicy policy, bool rejectExtra)
    {
        var validator = new FeatureValidator(Manifest, policy, rejectExtra);
        var decoder = new FeatureRowDecoder(Manifest, inputIsDouble, validator, Codec);
        Assert.True(decoder.IsFastPath);
        var random = new Random(20261207 + (inputIsDouble ? 1 : 0) + ((int)policy * 2) + (rejectExtra ? 4 : 0));
        int accepted = 0, refused = 0;
        for (var n = 0; n < 4000; n++)
        {
            var bytes = RandomRecord(random);
            long? timestamp = random.Next(10) == 0 ? null : RecordTimeMs;
            var (expected, expectedRow, reference) = inputIsDouble ? Reference<double>(bytes, timestamp, validator) : Reference<float>(bytes, timestamp, validator);
            bool actual;
            DecodedRow decoded;
            double[] row;
            if (inputIsDouble)
            {
                var doubles = new double[Features.Length];
                actual = decoder.TryDecode(bytes, timestamp, doubles, out decoded);
                row = doubles;
            }
            else
            {
                var floats = new float[Features.Length];
                actual = decoder.TryDecode(bytes, timestamp, floats, out decoded);
                row = floats.Select(f => (double)f).ToArray();
            }

            // Completeness: every current-schema Avro record the FeatureEvent way accepts is decoded into its row.
            Assert.Equal(expected, actual);
            if (!actual)
            {
                refused++;
                continue;
            }

            accepted++;
            Assert.Equal((reference!.EventId, reference.EntityId, reference.EventTimeMs), (decoded.EventId, decoded.EntityId, decoded.EventTimeMs));
            Assert.Equal(expectedRow.Select(BitConverter.DoubleToInt64Bits), row.Select(BitConverter.DoubleToInt64Bits));
        }

        // Both kinds occur often enough for the comparison to mean something.
        Assert.True(accepted > 800 && refused > 800, $"{accepted} accepted, {refused} refused");
    }

    [Fact]
    public void Json_records_and_other_schemas_take_the_feature_event_way()
    {
        var validator = new FeatureValidator(Manifest, NonFinitePolicy.Reject, rejectExtraFeatures: true);
        var decoder = new FeatureRowDecoder(Manifest, inputIsDouble: false, validator, Codec);
        var good = Event(Features.Select((f, j) => (f, (double?)j)));
        var row = new float[Features.Length];
        Assert.True(decoder.TryDecode(Codec.Serialize(good), RecordTimeMs, row, out _));
        Assert.Equal([0f, 1, 2, 3, 4, 5], row);

        var json = Encoding.UTF8.GetBytes(System.Text.Json.JsonSerializer.Serialize(new
        {
            event_id = good.EventId, model_name = good.ModelName, entity_id = good.EntityId, event_time_ms = good.EventTimeMs, features = good.Features,
        }));
        Assert.True(new FeatureEventDecoder(Codec).TryDecode(json, out _, out _));
        Assert.False(decoder.TryDecode(json, RecordTimeMs, row, out _));
        Assert.False(decoder.TryDecode(Codec.Serialize(new Label { EventId = "e1", ModelName = "cancer" }), RecordTimeMs, row, out _));
        Assert.False(decoder.TryDecode(Codec.Serialize(good), RecordTimeMs, new float[Features.Length - 1], out _));
    }

    [Fact]
    public void A_manifest_the_fast_path_cannot_match_turns_it_off()
    {
        var twice = Manifest with { Features = ["a", "b", "a"], FeatureMeans = [] };
        Assert.False(new FeatureRowDecoder(twice, false, new FeatureValidator(twice, NonFinitePolicy.Reject, true), Codec).IsFastPath);
        var separator = Manifest with { Name = "can|cer" };
        Assert.False(new FeatureRowDecoder(separator, false, new FeatureValidator(separator, NonFinitePolicy.Reject, true), Codec).IsFastPath);
    }

    /// <summary>The FeatureEvent way: decode, record policy, this model only, validator fill.</summary>
    private static (bool Accepted, double[] Row, FeatureEvent? Event) Reference<T>(byte[] bytes, long? timestamp, FeatureValidator validator)
        where T : struct
    {
        var row = new double[Features.Length];
        if (!new FeatureEventDecoder(Codec).TryDecode(bytes, out var featureEvent, out _)
            || !new RecordPolicy(Codec).Validate(featureEvent!, timestamp).TryGet(out _, out _)
            || featureEvent!.ModelName != Manifest.Name)
        {
            return (false, row, null);
        }

        if (typeof(T) == typeof(double))
        {
            return (validator.Fill(featureEvent, row.AsSpan()) is null, row, featureEvent);
        }

        var floats = new float[Features.Length];
        var accepted = validator.Fill(featureEvent, floats.AsSpan()) is null;
        return (accepted, floats.Select(f => (double)f).ToArray(), featureEvent);
    }

    private static FeatureEvent Event(IEnumerable<(string Name, double? Value)> features)
    {
        var featureEvent = new FeatureEvent { EventId = "e-1", ModelName = "cancer", EntityId = "user-1", EventTimeMs = RecordTimeMs - 1000 };
        foreach (var (name, value) in features)
        {
            featureEvent.Features[name] = value;
        }

        return featureEvent;
    }

    /// <summary>
    /// A FeatureEvent record written by hand, so it can hold what a dictionary cannot (duplicate keys, any order,
    /// several map blocks, some with negative counts), mostly good, with one or two faults in most of the rest.
    /// </summary>
    private static byte[] RandomRecord(Random random)
    {
        string Pick(params string[] choices) => choices[random.Next(choices.Length)];
        double? Value() => random.Next(12) switch
        {
            0 => null,
            1 => double.NaN,
            2 => double.NegativeInfinity,
            3 => 1e39, // finite, but not as a float32
            4 => -0.0,
            5 => double.Epsilon,
            _ => (random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-8, 9)),
        };

        var good = random.Next(3) == 0;
        var eventId = good || random.Next(4) > 0 ? $"e-{random.Next()}" : Pick("", "e\u0001x", new string('x', 300));
        var model = good || random.Next(4) > 0 ? "cancer" : Pick("other", "can|cer", "", "Cancer");
        var entity = good || random.Next(4) > 0 ? Pick("", "user-7", "ü") : "bad\u0007entity";
        var time = good || random.Next(4) > 0 ? RecordTimeMs - random.Next(0, 3_600_000) : Pick("ahead", "negative") == "ahead" ? RecordTimeMs + 7_200_000 : -5;
        var features = Features.Select(f => (Name: f, Value: good ? (random.NextDouble() - 0.5) * 100 : random.Next(3) == 0 ? Value() : random.NextDouble())).ToList();
        if (random.Next(3) == 0)
        {
            features = [.. features.OrderBy(_ => random.Next())];
        }

        if (!good && random.Next(4) == 0)
        {
            features.RemoveAt(random.Next(features.Count));
        }

        if (random.Next(4) == 0)
        {
            features.Insert(random.Next(features.Count + 1), (Pick("unknown", "mean radiu", "ТЕКСТ", new string('k', 300)), random.NextDouble()));
        }

        if (random.Next(4) == 0)
        {
            // A duplicate key: the last value wins, as it does in the dictionary.
            var name = Features[random.Next(Features.Length)];
            features.Insert(random.Next(features.Count + 1), (name, good ? random.NextDouble() : Value()));
        }

        var categorical = new List<(string, string?)>();
        for (var k = random.Next(4); k > 0; k--)
        {
            categorical.Add((random.Next(3) == 0 ? Features[random.Next(Features.Length)] : Pick("country", "plan", "ñ"), random.Next(4) == 0 ? null : Pick("de", "fr", "")));
        }

        var output = new List<byte>(Codec.Serialize(new FeatureEvent())[..EventCodec.HeaderLength]);
        Text(output, eventId);
        Text(output, model);
        Text(output, entity);
        Long(output, time);
        Blocks(output, random, features, (o, value) =>
        {
            Long(o, value is null ? 0 : 1);
            if (value is { } v)
            {
                o.AddRange(BitConverter.GetBytes(v));
            }
        });
        Blocks(output, random, categorical, (o, value) =>
        {
            Long(o, value is null ? 0 : 1);
            if (value is not null)
            {
                Text(o, value);
            }
        });
        var bytes = output.ToArray();
        switch (random.Next(16))
        {
            case 0:
                bytes[random.Next(EventCodec.HeaderLength, bytes.Length)] ^= (byte)(1 << random.Next(8));
                break;
            case 1:
                bytes = bytes[..random.Next(bytes.Length)];
                break;
            case 2:
                bytes = [.. bytes, 0];
                break;
        }

        return bytes;
    }

    private static void Blocks<T>(List<byte> output, Random random, List<(string Name, T Value)> items, Action<List<byte>, T> value)
    {
        var at = 0;
        while (at < items.Count)
        {
            var count = random.Next(1, items.Count - at + 1);
            var block = new List<byte>();
            foreach (var (name, item) in items.Skip(at).Take(count))
            {
                Text(block, name);
                value(block, item);
            }

            if (random.Next(2) == 0)
            {
                Long(output, -count);
                Long(output, block.Count);
            }
            else
            {
                Long(output, count);
            }

            output.AddRange(block);
            at += count;
        }

        Long(output, 0);
    }

    private static void Text(List<byte> output, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        Long(output, bytes.Length);
        output.AddRange(bytes);
    }

    private static void Long(List<byte> output, long value)
    {
        var zigzag = (ulong)((value << 1) ^ (value >> 63));
        while (zigzag >= 0x80)
        {
            output.Add((byte)(zigzag | 0x80));
            zigzag >>= 7;
        }

        output.Add((byte)zigzag);
    }
}
