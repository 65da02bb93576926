using Avro;
using Avro.Generic;
using StreamMonitor.Contracts;
using StreamMonitor.Testing;

namespace StreamMonitor.Streams.Tests;

/// <summary>
/// Drift and latency window results written with the schemas before the resolution and clamp fields still decode (the
/// new fields take their defaults), and the current ones round-trip.
/// </summary>
public class WindowResultSchemaHistoryTests
{
    private static readonly EventCodec Codec = new();

    private static RecordSchema History(string name) =>
        (RecordSchema)Schema.Parse(File.ReadAllText(Path.Combine(StreammonCli.RepositoryRoot, "schemas", "history", name)));

    private static byte[] Encode(RecordSchema schema, GenericRecord record)
    {
        using var stream = new MemoryStream();
        stream.Write([0xC3, 0x01]);
        stream.Write(BitConverter.GetBytes(EventSchemaCatalog.Fingerprint(schema)));
        new GenericDatumWriter<GenericRecord>(schema).Write(record, new Avro.IO.BinaryEncoder(stream));
        return stream.ToArray();
    }

    [Fact]
    public void A_drift_result_of_the_first_schema_decodes_with_the_new_fields_at_their_defaults()
    {
        var v1 = History("drift-window-result.v1.avsc");
        var featureSchema = (RecordSchema)((ArraySchema)v1["features"].Schema).ItemSchema;
        var feature = new GenericRecord(featureSchema);
        foreach (var field in featureSchema.Fields)
        {
            feature.Add(field.Name, null);
        }

        feature.Add("feature", "x");
        feature.Add("kind", new GenericEnum((EnumSchema)featureSchema["kind"].Schema, "NUMERIC"));
        feature.Add("count", 10L);
        feature.Add("null_rate", 0.0);
        feature.Add("ks_statistic", 0.25);
        feature.Add("ks_p_value", 0.0);
        feature.Add("drift_method", "ks");
        feature.Add("drift_score", 0.0);
        feature.Add("threshold", 0.05);
        feature.Add("drifted", true);
        var record = new GenericRecord(v1);
        record.Add("model_name", "m");
        record.Add("model_version", "all");
        record.Add("window_start_ms", 0L);
        record.Add("window_size_ms", 60_000L);
        record.Add("count", 10L);
        record.Add("reference_id", "r");
        record.Add("features", new object[] { feature });
        record.Add("drifted_share", 1.0);
        record.Add("dataset_drift", true);

        var decoded = Codec.Deserialize<DriftWindowResult>(Encode(v1, record)).Features.Single();
        Assert.Equal((0.25, true), (decoded.KsStatistic!.Value, decoded.Drifted));
        Assert.Equal((false, (double?)null, (double?)null, false, false), (decoded.Discrete, decoded.KsResolution, decoded.WassersteinResolution, decoded.KsPValueFloored, decoded.ChiSquarePValueFloored));
    }

    [Fact]
    public void A_latency_result_of_the_first_schema_decodes_with_no_clamped_values_and_no_unbounded_percentile()
    {
        var v1 = History("latency-window-result.v1.avsc");
        var stageSchema = (RecordSchema)((ArraySchema)v1["stages"].Schema).ItemSchema;
        var stage = new GenericRecord(stageSchema);
        stage.Add("stage", "e2e");
        foreach (var field in new[] { "count", "p50_us", "p90_us", "p95_us", "p99_us", "p999_us", "max_us" })
        {
            stage.Add(field, 7L);
        }

        stage.Add("mean_us", 7.0);
        var record = new GenericRecord(v1);
        foreach (var (field, value) in new (string, object?)[]
        {
            ("model_name", "m"), ("model_version", "1"), ("window_start_ms", 0L), ("window_size_ms", 60_000L), ("count", 7L),
            ("error_count", 0L), ("error_rate", 0.0), ("throughput_per_s", 1.0), ("batch_size_mean", 1.0), ("batch_size_max", 1),
            ("stages", new object[] { stage }), ("latency_slis", Array.Empty<object>()), ("relative_error", 1.0 / 256),
            ("late_count", 0L), ("partitions", 1), ("e2e_histogram", null),
        })
        {
            record.Add(field, value);
        }

        var decoded = Codec.Deserialize<LatencyWindowResult>(Encode(v1, record)).Stages.Single();
        Assert.Equal((7L, 0L), (decoded.P99Us, decoded.ClampedCount));
        Assert.Empty(decoded.UnboundedPercentiles);
    }

    [Fact]
    public void The_current_fields_round_trip()
    {
        var drift = new DriftWindowResult
        {
            ModelName = "m",
            Features = [new FeatureDrift { Feature = "x", Discrete = true, KsResolution = 0, WassersteinResolution = 1e-3, KsPValue = 1e-300, KsPValueFloored = true, ChiSquarePValueFloored = true }],
        };
        var f = Codec.Deserialize<DriftWindowResult>(Codec.Serialize(drift)).Features.Single();
        Assert.Equal((true, 0.0, 1e-3, 1e-300, true, true), (f.Discrete, f.KsResolution!.Value, f.WassersteinResolution!.Value, f.KsPValue!.Value, f.KsPValueFloored, f.ChiSquarePValueFloored));
    }
}
