using StreamMonitor.Aggregator.Drift;
using StreamMonitor.Analytics.Drift;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.State;

namespace StreamMonitor.Aggregator.Tests;

/// <summary>
/// <see cref="ModelDriftAggregate.Codec"/>: the bytes earlier releases stored in checkpoints and partials with no version
/// byte (captured below as hex from the former <c>ModelDriftAggregate.Write</c>) decode to the same state as versions 0
/// and 1; version 2 is the version byte and the same bytes; records round-trip; truncated records and unknown versions
/// fail with <see cref="InvalidDataException"/>.
/// </summary>
public sealed class ModelDriftCodecTests
{
    /// <summary>The pane state earlier releases stored (presence flag, version 2 counts): <see cref="Aggregate"/>.</summary>
    private const string AggregateHex =
        "010202000000000000000100000007000000000000000000000002000000000000009A9999999999C93F0000000000001C4002000000030000000100"
        + "000000000000060000000100000000000000010000000000000000001C40010000000000000001000000000000000000000002000000000000000200"
        + "000001620100000000000000036E6577010000000000000000";

    private static ReferenceProfile Profile()
    {
        var profile = new ReferenceProfile { Model = "m", Numeric = [NumericProfile.Build("f0", [0.1, 0.2, 0.3])], Categorical = [CategoricalProfile.Build("c", ["a", "b"])] };
        profile.Seal();
        return profile;
    }

    private static ModelDriftAggregate Aggregate()
    {
        var profile = Profile();
        var aggregate = new ModelDriftAggregate();
        aggregate.Add(profile, new FeatureEvent { EventId = "e1", ModelName = "m", Features = new Dictionary<string, double?> { ["f0"] = 0.2 }, Categorical = new Dictionary<string, string?> { ["c"] = "b" } });
        aggregate.Add(profile, new FeatureEvent { EventId = "e2", ModelName = "m", Features = new Dictionary<string, double?> { ["f0"] = 7 }, Categorical = new Dictionary<string, string?> { ["c"] = "new" } });
        return aggregate;
    }

    [Fact]
    public void Unversioned_bytes_of_earlier_releases_decode_and_version_2_leads_them_with_its_version_byte()
    {
        var bytes = Convert.FromHexString(AggregateHex);
        var read = ModelDriftAggregate.Codec.Decode(bytes);
        Assert.Equal(2, read.State!.Count);
        Assert.Equal(AggregateHex, Hex(read));
        Assert.Null(ModelDriftAggregate.Codec.Decode([0]).State);

        Assert.Equal("02" + AggregateHex, Convert.ToHexString(ModelDriftAggregate.Codec.Encode(Aggregate())));
        Assert.Equal("0200", Convert.ToHexString(ModelDriftAggregate.Codec.Encode(new ModelDriftAggregate())));
        Assert.Equal(AggregateHex, Hex(ModelDriftAggregate.Codec.Decode([2, .. bytes])));
        Assert.Null(ModelDriftAggregate.Codec.Decode(ModelDriftAggregate.Codec.Encode(new ModelDriftAggregate())).State);
    }

    [Fact]
    public void Random_aggregates_round_trip()
    {
        var profile = Profile();
        var random = new Random(14);
        for (var round = 0; round < 50; round++)
        {
            var aggregate = new ModelDriftAggregate();
            for (var i = random.Next(3); i > 0; i--)
            {
                aggregate.Add(profile, new FeatureEvent { EventId = "e", ModelName = "m", Features = new Dictionary<string, double?> { ["f0"] = random.NextDouble() }, Categorical = new Dictionary<string, string?> { ["c"] = random.Next(2) == 0 ? "a" : "z" } });
            }

            var record = ModelDriftAggregate.Codec.Encode(aggregate);
            Assert.Equal(Convert.ToHexString(record), Convert.ToHexString(ModelDriftAggregate.Codec.Encode(ModelDriftAggregate.Codec.Decode(record))));
        }
    }

    [Fact]
    public void Truncated_records_and_unknown_versions_are_refused()
    {
        var record = ModelDriftAggregate.Codec.Encode(Aggregate());
        Assert.Throws<InvalidDataException>(() => ModelDriftAggregate.Codec.Decode(record[..^1]));
        Assert.Throws<InvalidDataException>(() => ModelDriftAggregate.Codec.Decode(record[..10]));
        Assert.Throws<InvalidDataException>(() => ModelDriftAggregate.Codec.Decode([3, .. record[1..]]));

        // The counts' own version, inside the stored layout.
        var bytes = Convert.FromHexString(AggregateHex);
        bytes[1] = 9;
        Assert.Throws<InvalidDataException>(() => ModelDriftAggregate.Codec.Decode(bytes));
    }

    private static string Hex(ModelDriftAggregate aggregate)
    {
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer))
        {
            ModelDriftAggregate.Codec.Write(writer, aggregate);
        }

        return Convert.ToHexString(buffer.ToArray());
    }
}
