using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Options;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.Validation;
using StreamMonitor.Kafka;
using StreamMonitor.Models;
using StreamMonitor.Testing;

namespace StreamMonitor.Scorer.Tests;

/// <summary>
/// Records the scorer refuses at the source (issue #11): each gets exactly one dead letter and one ERROR prediction
/// whose identifiers are all valid, so nothing downstream dead-letters it a second time; scoring goes on, and a
/// restart does not refuse them again.
/// </summary>
public sealed class RejectionTests(EmbeddedKafkaFixture cluster) : IClassFixture<EmbeddedKafkaFixture>, IDisposable
{
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(60);
    private readonly string _store = Directory.CreateTempSubdirectory("streammon-scorer-").FullName;
    private readonly RecordPolicy _downstream = new(ScorerHarness.Codec);

    [Fact]
    public async Task Invalid_utf8_in_an_event_id_is_a_corrupt_body_with_one_dead_letter_keyed_by_the_records_coordinates()
    {
        var model = ScorerHarness.BuildModel(_store, "cancer", "1");
        var options = cluster.CreateOptions();
        var bad = ScorerHarness.Event(model, 1);
        bad.EventId = "utf8-A";
        var twin = ScorerHarness.Event(model, 2);
        twin.EventId = "utf8-B"; // differs from the first only in the byte that becomes invalid
        await using (var app = await ScorerHarness.StartScorerAsync(options, _store, "--Scorer:Models:0=cancer"))
        using (var producer = ScorerHarness.Producer(options))
        {
            foreach (var featureEvent in new[] { bad, twin })
            {
                // The key is invalid too: the scorer must not fall back to a lossy decode of it.
                producer.Produce(options.Topics.Features, new Message<byte[], byte[]> { Key = [0x75, 0xFF], Value = ScorerHarness.WithInvalidUtf8EventId(featureEvent) });
            }

            ScorerHarness.Produce(producer, options, ScorerHarness.Event(model, 3));
            producer.Flush(TimeSpan.FromSeconds(10));

            var predictions = ScorerHarness.Read<Prediction>(options, options.Topics.Predictions, r => r.Count >= 1, ReadTimeout);
            var letters = ScorerHarness.Read<DeadLetter>(options, options.Topics.DeadLetter, r => r.Count >= 2, ReadTimeout);
            await app.StopAsync();

            Assert.Equal(2, letters.Count);
            Assert.All(letters, l => Assert.Equal(ReasonCodes.DecodeCorruptBody, l.Value.ReasonCode));
            var coordinates = letters.Select(l => $"{l.Value.SourceTopic}/{l.Value.SourcePartition}/{l.Value.SourceOffset}").ToHashSet();
            Assert.Equal(coordinates, letters.Select(l => l.Key).ToHashSet()); // DeadLetter.KeyOf: the one key format
            // Undecodable: no event time to place an ERROR prediction at, so none (the dead letter is the record).
            Assert.DoesNotContain(predictions, p => p.Value.Status == PredictionStatus.ERROR);
            Assert.DoesNotContain(predictions, p => p.Value.EventId.Contains('\uFFFD', StringComparison.Ordinal));
            Assert.Equal(PredictionStatus.OK, Assert.Single(predictions, p => p.Value.EventId == "e-000003").Value.Status);
            AssertAcceptedDownstream(predictions);
        }

        await AssertRestartRefusesNothingAgainAsync(options, model, letters: 2, predictions: 1);
    }

    [Fact]
    public async Task An_unknown_model_and_a_model_name_with_a_tab_get_one_dead_letter_each_and_errors_in_the_unknown_bucket()
    {
        var model = ScorerHarness.BuildModel(_store, "cancer", "1");
        var options = cluster.CreateOptions();
        var unknown = ScorerHarness.Event(model, 1, modelName: "no-such-model");
        var tab = ScorerHarness.Event(model, 2, modelName: "can\tcer");
        var badEntity = ScorerHarness.Event(model, 3);
        badEntity.EntityId = "patient\n3"; // a known model with an invalid event: counted under the model's version
        await using (var app = await ScorerHarness.StartScorerAsync(options, _store, "--Scorer:Models:0=cancer"))
        using (var producer = ScorerHarness.Producer(options))
        {
            foreach (var featureEvent in new[] { unknown, tab, badEntity, ScorerHarness.Event(model, 4) })
            {
                ScorerHarness.Produce(producer, options, featureEvent);
            }

            producer.Flush(TimeSpan.FromSeconds(10));
            var predictions = ScorerHarness.Read<Prediction>(options, options.Topics.Predictions, r => r.Count >= 4, ReadTimeout);
            var letters = ScorerHarness.Read<DeadLetter>(options, options.Topics.DeadLetter, r => r.Count >= 3, ReadTimeout);
            await app.StopAsync();

            Assert.Equal(4, predictions.Count);
            var byId = predictions.ToDictionary(p => p.Value.EventId, p => p.Value);
            Assert.Equal(3, letters.Count);
            var letterByKey = letters.ToDictionary(l => Encoding.UTF8.GetString(l.Value.Key!), l => l.Value);

            var first = byId["e-000001"];
            Assert.Equal(PredictionStatus.ERROR, first.Status);
            Assert.Equal((Identifiers.UnknownModelBucket, Identifiers.UnknownModelBucket), (first.ModelName, first.ModelVersion));
            Assert.StartsWith(ReasonCodes.UnknownModel + ":", first.ErrorReason, StringComparison.Ordinal);
            Assert.Contains("model_name 'no-such-model'", first.ErrorReason, StringComparison.Ordinal);
            Assert.Equal(ReasonCodes.UnknownModel, letterByKey["e-000001"].ReasonCode);

            var second = byId["e-000002"];
            Assert.Equal((Identifiers.UnknownModelBucket, Identifiers.UnknownModelBucket), (second.ModelName, second.ModelVersion));
            Assert.StartsWith(ReasonCodes.InvalidIdentifier + ":", second.ErrorReason, StringComparison.Ordinal);
            Assert.Contains(@"model_name 'can\u0009cer'", second.ErrorReason, StringComparison.Ordinal); // escaped, never the raw tab
            Assert.DoesNotContain('\t', second.ErrorReason!);
            Assert.Equal(ReasonCodes.InvalidIdentifier, letterByKey["e-000002"].ReasonCode);

            var third = byId["e-000003"];
            Assert.Equal(("cancer", "1"), (third.ModelName, third.ModelVersion));
            Assert.Equal("", third.EntityId);
            Assert.StartsWith(ReasonCodes.InvalidIdentifier + ": entity_id", third.ErrorReason, StringComparison.Ordinal);

            Assert.Equal(PredictionStatus.OK, byId["e-000004"].Status);
            AssertAcceptedDownstream(predictions);
        }

        await AssertRestartRefusesNothingAgainAsync(options, model, letters: 3, predictions: 4);
    }

    [Fact]
    public async Task Implausible_event_times_are_refused_against_the_record_timestamp_and_later_events_are_still_scored()
    {
        var model = ScorerHarness.BuildModel(_store, "cancer", "1");
        var options = cluster.CreateOptions();
        var now = DateTimeOffset.UtcNow;
        var times = new Dictionary<string, long>
        {
            ["max"] = long.MaxValue,
            ["century-ahead"] = now.AddYears(100).ToUnixTimeMilliseconds(), // a µs clock sent as ms lands further still
            ["two-hours-ahead"] = now.AddHours(2).ToUnixTimeMilliseconds(),
            ["epoch"] = 0, // 56 years behind the record timestamp: more than the 3650 days allowed
            ["negative"] = -1,
        };
        await using (var app = await ScorerHarness.StartScorerAsync(options, _store, "--Scorer:Models:0=cancer"))
        using (var producer = ScorerHarness.Producer(options))
        {
            var i = 0;
            foreach (var (id, time) in times)
            {
                var featureEvent = ScorerHarness.Event(model, i++);
                featureEvent.EventId = id;
                featureEvent.EventTimeMs = time;
                ScorerHarness.Produce(producer, options, featureEvent);
            }

            for (var k = 10; k < 15; k++)
            {
                ScorerHarness.Produce(producer, options, ScorerHarness.Event(model, k));
            }

            producer.Flush(TimeSpan.FromSeconds(10));
            var predictions = ScorerHarness.Read<Prediction>(options, options.Topics.Predictions, r => r.Count >= 5, ReadTimeout);
            var letters = ScorerHarness.Read<DeadLetter>(options, options.Topics.DeadLetter, r => r.Count >= times.Count, ReadTimeout);
            await app.StopAsync();

            Assert.Equal(times.Count, letters.Count);
            foreach (var (id, time) in times)
            {
                var letter = Assert.Single(letters, l => Encoding.UTF8.GetString(l.Value.Key!) == id).Value;
                Assert.Equal(ReasonCodes.EventTimeImplausible, letter.ReasonCode);
                Assert.Equal(time, letter.EventTimeMs); // the dead letter keeps the bad time
                // No ERROR prediction: it would need an invented event time, which would move stream time downstream.
                Assert.DoesNotContain(predictions, p => p.Value.EventId == id);
            }

            Assert.Equal(5, predictions.Count(p => p.Value.Status == PredictionStatus.OK && p.Value.EventId.StartsWith("e-", StringComparison.Ordinal)));
            AssertAcceptedDownstream(predictions);
        }

        await AssertRestartRefusesNothingAgainAsync(options, model, letters: times.Count, predictions: 5);
    }

    [Fact]
    public async Task The_event_time_bounds_are_configurable_and_validated_at_start()
    {
        var model = ScorerHarness.BuildModel(_store, "cancer", "1");
        var options = cluster.CreateOptions();
        await using (var invalid = ScorerApp.Build([$"--Scorer:ModelStorePath={_store}", "--Scorer:Models:0=cancer", "--Scorer:EventTime:MaxAhead=-00:00:01", $"--Kafka:BootstrapServers={options.BootstrapServers}", "--Urls=http://127.0.0.1:0"]))
        {
            var error = await Assert.ThrowsAsync<OptionsValidationException>(() => invalid.StartAsync());
            Assert.Contains("Scorer:EventTime:MaxAhead", error.Message, StringComparison.Ordinal);
        }

        // Tighter than the default: 90 s ahead is refused at 1 minute, 30 s ahead is not.
        await using var app = await ScorerHarness.StartScorerAsync(options, _store, "--Scorer:Models:0=cancer", "--Scorer:EventTime:MaxAhead=00:01:00");
        using (var producer = ScorerHarness.Producer(options))
        {
            var ahead = ScorerHarness.Event(model, 1);
            ahead.EventTimeMs = DateTimeOffset.UtcNow.AddSeconds(90).ToUnixTimeMilliseconds();
            var close = ScorerHarness.Event(model, 2);
            close.EventTimeMs = DateTimeOffset.UtcNow.AddSeconds(30).ToUnixTimeMilliseconds();
            ScorerHarness.Produce(producer, options, ahead);
            ScorerHarness.Produce(producer, options, close);
            producer.Flush(TimeSpan.FromSeconds(10));
        }

        var predictions = ScorerHarness.Read<Prediction>(options, options.Topics.Predictions, r => r.Count >= 1, ReadTimeout).ToDictionary(p => p.Value.EventId, p => p.Value);
        var letters = ScorerHarness.Read<DeadLetter>(options, options.Topics.DeadLetter, r => r.Count >= 1, ReadTimeout);
        await app.StopAsync();
        Assert.Equal(ReasonCodes.EventTimeImplausible, Assert.Single(letters).Value.ReasonCode);
        Assert.DoesNotContain("e-000001", predictions.Keys);
        Assert.Equal(PredictionStatus.OK, predictions["e-000002"].Status);
    }

    public void Dispose() => Directory.Delete(_store, recursive: true);

    /// <summary>Every prediction passes the policy the aggregator decodes predictions with: none becomes a second dead letter.</summary>
    private void AssertAcceptedDownstream(List<Record<Prediction>> predictions)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        Assert.All(predictions, p =>
        {
            var validated = _downstream.Predictions(ScorerHarness.Codec.Serialize(p.Value), now);
            Assert.True(validated.IsValid, $"{p.Value.EventId}: {validated.Rejection}");
            Assert.Equal(p.Value.ModelName, validated.Value!.ModelName); // not moved to another bucket downstream
        });
    }

    /// <summary>
    /// Restarts the scorer in the same consumer group: the refused records' offsets were committed with their dead
    /// letters, so none is refused (or dead-lettered) again, and a new event is scored.
    /// </summary>
    private async Task AssertRestartRefusesNothingAgainAsync(KafkaOptions options, ModelBuildResult model, int letters, int predictions)
    {
        await using var app = await ScorerHarness.StartScorerAsync(options, _store, "--Scorer:Models:0=cancer");
        using (var producer = ScorerHarness.Producer(options))
        {
            var after = ScorerHarness.Event(model, 99);
            after.EventId = "after-restart";
            ScorerHarness.Produce(producer, options, after);
            producer.Flush(TimeSpan.FromSeconds(10));
        }

        var settle = TimeSpan.FromSeconds(2);
        var all = ScorerHarness.Read<Prediction>(options, options.Topics.Predictions, r => r.Any(p => p.Value.EventId == "after-restart"), ReadTimeout, settle);
        await app.StopAsync();
        Assert.Equal(PredictionStatus.OK, Assert.Single(all, p => p.Value.EventId == "after-restart").Value.Status);
        Assert.Equal(predictions + 1, all.Count);
        Assert.Equal(letters, ScorerHarness.Read<DeadLetter>(options, options.Topics.DeadLetter, r => r.Count >= letters, ReadTimeout, settle).Count);
    }
}
