using StreamMonitor.Contracts;
using StreamMonitor.Contracts.Validation;
using StreamMonitor.Models.Inference;
using StreamMonitor.Testing;

namespace StreamMonitor.Scorer.Tests;

/// <summary>Bad input is data: every defect gives an ERROR prediction and a dead letter, and scoring goes on.</summary>
public sealed class ValidationTests(EmbeddedKafkaFixture cluster) : IClassFixture<EmbeddedKafkaFixture>, IDisposable
{
    private readonly string _store = Directory.CreateTempSubdirectory("streammon-scorer-").FullName;

    [Fact]
    public async Task Every_invalid_event_gets_a_dead_letter_and_an_error_prediction_when_it_has_an_event_time_and_valid_events_are_still_scored()
    {
        var model = ScorerHarness.BuildModel(_store, "cancer", "1");
        var options = cluster.CreateOptions();
        var features = model.Manifest.Features;
        var expected = new Dictionary<string, string?>
        {
            ["ok-first"] = null,
            ["bad-bytes"] = "DECODE_BAD_MARKER",
            ["truncated"] = "DECODE_TRUNCATED",
            ["unknown-model"] = ReasonCodes.UnknownModel,
            ["missing"] = ReasonCodes.MissingFeature,
            ["extra"] = ReasonCodes.ExtraFeature,
            ["null-value"] = ReasonCodes.NullValue,
            ["nan"] = ReasonCodes.NonFinite,
            ["infinity"] = ReasonCodes.NonFinite,
            ["wrong-type"] = ReasonCodes.WrongType,
            ["ok-last"] = null,
        };

        FeatureEvent Valid(string id)
        {
            var e = ScorerHarness.Event(model, id.Length);
            e.EventId = id;
            return e;
        }

        await using var app = await ScorerHarness.StartScorerAsync(options, _store, "--Scorer:Models:0=cancer");
        using (var producer = ScorerHarness.Producer(options))
        {
            ScorerHarness.Produce(producer, options, Valid("ok-first"));
            ScorerHarness.ProduceRaw(producer, options, "bad-bytes", [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B]);
            ScorerHarness.ProduceRaw(producer, options, "truncated", [0xC3, 0x01, 0x00]);
            var unknown = Valid("unknown-model");
            unknown.ModelName = "no-such-model";
            ScorerHarness.Produce(producer, options, unknown);
            var missing = Valid("missing");
            missing.Features.Remove(features[3]);
            ScorerHarness.Produce(producer, options, missing);
            var extra = Valid("extra");
            extra.Features["not_a_feature"] = 1.0;
            ScorerHarness.Produce(producer, options, extra);
            var nullValue = Valid("null-value");
            nullValue.Features[features[0]] = null;
            ScorerHarness.Produce(producer, options, nullValue);
            var nan = Valid("nan");
            nan.Features[features[1]] = double.NaN;
            ScorerHarness.Produce(producer, options, nan);
            var infinity = Valid("infinity");
            infinity.Features[features[2]] = double.NegativeInfinity;
            ScorerHarness.Produce(producer, options, infinity);
            var wrongType = Valid("wrong-type");
            wrongType.Features.Remove(features[4]);
            wrongType.Categorical[features[4]] = "large";
            ScorerHarness.Produce(producer, options, wrongType);
            ScorerHarness.Produce(producer, options, Valid("ok-last"));
            producer.Flush(TimeSpan.FromSeconds(10));
        }

        // Undecodable records have no event time: a dead letter, no ERROR prediction.
        static bool Undecodable(string? code) => code?.StartsWith("DECODE_", StringComparison.Ordinal) == true;
        var predictedCount = expected.Values.Count(c => !Undecodable(c));
        var predictions = ScorerHarness.Read<Prediction>(options, options.Topics.Predictions, r => r.Count >= predictedCount, TimeSpan.FromSeconds(60));
        var deadLetters = ScorerHarness.Read<DeadLetter>(options, options.Topics.DeadLetter, r => r.Count >= expected.Values.Count(v => v is not null), TimeSpan.FromSeconds(30));
        var byId = predictions.ToDictionary(p => p.Value.EventId, p => p.Value);
        Assert.Equal(predictedCount, byId.Count);
        var downstream = new RecordPolicy(ScorerHarness.Codec);
        foreach (var (id, code) in expected)
        {
            if (code is null)
            {
                var ok = byId[id];
                Assert.Equal(PredictionStatus.OK, ok.Status);
                Assert.Equal("1", ok.ModelVersion);
                Assert.Equal(model.Manifest.OnnxSha256, ok.ModelHash);
                Assert.Equal("CPUExecutionProvider", ok.ExecutionProvider);
                Assert.InRange(ok.Score!.Value, 0, 1);
                continue;
            }

            var letter = Assert.Single(deadLetters, d => System.Text.Encoding.UTF8.GetString(d.Value.Key!) == id).Value;
            Assert.Equal(code, letter.ReasonCode);
            Assert.Equal("scorer", letter.Service);
            Assert.Equal(options.Topics.Features, letter.SourceTopic);

            // An undecodable record has no event time: no prediction would be honest. Errors of the served model count
            // under its version; the rest in the unknown bucket.
            if (Undecodable(code))
            {
                Assert.DoesNotContain($"{letter.SourceTopic}/{letter.SourcePartition}/{letter.SourceOffset}", byId.Keys);
                continue;
            }

            var prediction = byId[id];
            Assert.Equal(PredictionStatus.ERROR, prediction.Status);
            Assert.StartsWith(code + ":", prediction.ErrorReason, StringComparison.Ordinal);
            Assert.Equal(DispatchReason.NONE, prediction.Timing.DispatchReason);
            Assert.Equal("", prediction.ExecutionProvider); // nothing ran
            var bucket = code == ReasonCodes.UnknownModel;
            Assert.Equal(bucket ? (Identifiers.UnknownModelBucket, Identifiers.UnknownModelBucket) : ("cancer", "1"), (prediction.ModelName, prediction.ModelVersion));
            Assert.True(downstream.Predictions(ScorerHarness.Codec.Serialize(prediction), prediction.Timing.BrokerTimeMs).IsValid, $"{id} would be dead-lettered again downstream");
        }

        Assert.Equal(expected.Values.Count(v => v is not null), deadLetters.Count);
        // The dead letter keeps the original bytes: the undecodable record is there byte for byte.
        Assert.Equal([0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B], deadLetters.Single(d => d.Value.ReasonCode == "DECODE_BAD_MARKER").Value.Payload);
        await app.StopAsync();
    }

    public void Dispose() => Directory.Delete(_store, recursive: true);
}
