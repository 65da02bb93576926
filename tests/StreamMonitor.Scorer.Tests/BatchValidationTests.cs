using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.Validation;
using StreamMonitor.Models;
using StreamMonitor.Models.Batch;
using StreamMonitor.Models.Inference;
using StreamMonitor.Models.Store;
using StreamMonitor.Testing;

namespace StreamMonitor.Scorer.Tests;

/// <summary>
/// The batch path (streammon score) refuses what the streaming scorer refuses, where the events are read: a topic
/// range judges event times against record timestamps, a file only against the absolute range; every ERROR
/// prediction has valid identifiers, the streaming scorer's model attribution and the event's own time, and a record
/// without a plausible event time gets none (it is counted).
/// </summary>
public sealed class BatchValidationTests(EmbeddedKafkaFixture cluster) : IClassFixture<EmbeddedKafkaFixture>, IDisposable
{
    private readonly string _store = Directory.CreateTempSubdirectory("streammon-batch-").FullName;
    private readonly RecordPolicy _downstream = new(ScorerHarness.Codec);

    [Fact]
    public async Task A_csv_backfill_refuses_implausible_times_bad_identifiers_and_other_models_with_valid_error_predictions_at_their_own_times()
    {
        var model = ScorerHarness.BuildModel(_store, "cancer", "1");
        var features = model.Manifest.Features;
        var csv = Path.Combine(_store, "events.csv");
        var lines = new List<string> { string.Join(',', new[] { "event_id", "model_name", "event_time_ms" }.Concat(features).Append("label")) };
        void Row(int i, string id, string modelName, string time)
        {
            var values = ScorerHarness.Event(model, i).Features;
            lines.Add(string.Join(',', new[] { id, modelName, time }.Concat(features.Select(f => values[f]!.Value.ToString("R", CultureInfo.InvariantCulture))).Append("1")));
        }

        Row(1, "ok", "cancer", "1700000000000");
        Row(2, "", "cancer", "1700000000000"); // no event id: the file and row stand in
        Row(3, "far", "cancer", long.MaxValue.ToString(CultureInfo.InvariantCulture));
        Row(4, "not-a-time", "cancer", "yesterday");
        Row(5, "other", "other-model", "1700000000000");
        Row(6, "tabbed", "can\tcer", "1700000000000");
        Row(7, "ctrl\u0001id", "cancer", "1700000000000");
        await File.WriteAllLinesAsync(csv, lines);

        var (predictions, summary) = await ScoreAsync(model, FileSources.CsvAsync(csv, "cancer"));
        var byId = predictions.ToDictionary(p => p.EventId);
        Assert.Equal(5, byId.Count);
        Assert.Equal((7L, 5L), (summary.Rows, summary.Errors));
        Assert.Equal(PredictionStatus.OK, byId["ok"].Status);
        Assert.Equal(PredictionStatus.OK, byId["events-2"].Status);
        // No plausible event time, no ERROR prediction: any stand-in time would be invented.
        Assert.DoesNotContain("far", byId.Keys);
        Assert.DoesNotContain("not-a-time", byId.Keys);
        AssertError(byId["other"], ReasonCodes.UnknownModel, Identifiers.UnknownModelBucket, Identifiers.UnknownModelBucket);
        Assert.Contains("model_name 'other-model'", byId["other"].ErrorReason, StringComparison.Ordinal);
        AssertError(byId["tabbed"], ReasonCodes.InvalidIdentifier, Identifiers.UnknownModelBucket, Identifiers.UnknownModelBucket);
        Assert.Contains(@"model_name 'can\u0009cer'", byId["tabbed"].ErrorReason, StringComparison.Ordinal);
        AssertError(byId["events-7"], ReasonCodes.InvalidIdentifier, "cancer", "1"); // the invalid id is replaced by the row
        Assert.All(predictions, p => Assert.Equal(1_700_000_000_000, p.EventTimeMs));
        AssertAcceptedDownstream(predictions);
    }

    [Fact]
    public async Task A_topic_range_refuses_invalid_utf8_empty_records_and_implausible_times_keyed_by_coordinates_where_the_id_is_bad()
    {
        var model = ScorerHarness.BuildModel(_store, "cancer", "1");
        var options = cluster.CreateOptions();
        var now = DateTimeOffset.UtcNow;
        using (var producer = ScorerHarness.Producer(options))
        {
            void Send(string key, byte[]? value) =>
                producer.Produce(options.Topics.Features, new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes(key), Value = value!, Timestamp = new Timestamp(now) });

            var good = ScorerHarness.Event(model, 1);
            good.EventTimeMs = now.AddMinutes(-5).ToUnixTimeMilliseconds();
            Send("good", ScorerHarness.Codec.Serialize(good));
            var badId = ScorerHarness.Event(model, 2);
            badId.EventTimeMs = good.EventTimeMs;
            Send("utf8", ScorerHarness.WithInvalidUtf8EventId(badId));
            Send("empty", null);
            var ahead = ScorerHarness.Event(model, 3);
            ahead.EventTimeMs = now.AddYears(100).ToUnixTimeMilliseconds();
            Send("ahead", ScorerHarness.Codec.Serialize(ahead));
            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
        }

        var inputs = new List<BatchInput>();
        using (var range = new KafkaRange(options, options.Topics.Features))
        {
            var ranges = range.Partitions().Select(p => { var m = range.Watermarks(p); return new PartitionRange(p, m.Low.Value, m.High.Value); }).ToList();
            await foreach (var input in range.ReadAsync(ranges))
            {
                inputs.Add(input);
            }
        }

        Assert.Equal(4, inputs.Count);
        Assert.NotNull(Assert.Single(inputs, i => i.Event is not null).Event);
        var refused = inputs.Where(i => i.Event is null).ToDictionary(i => i.ErrorCode!);
        Assert.Equal(new[] { ReasonCodes.DecodeCorruptBody, ReasonCodes.EmptyRecord, ReasonCodes.EventTimeImplausible }, refused.Keys.Order(StringComparer.Ordinal));
        Assert.Matches($"^{options.Topics.Features.Replace(".", "\\.", StringComparison.Ordinal)}/[0-9]+/[0-9]+$", refused[ReasonCodes.DecodeCorruptBody].FallbackId);
        Assert.Matches("/[0-9]+/[0-9]+$", refused[ReasonCodes.EmptyRecord].FallbackId);
        Assert.Equal("e-000003", refused[ReasonCodes.EventTimeImplausible].FallbackId); // its id is valid: kept
        Assert.Equal("cancer", refused[ReasonCodes.EventTimeImplausible].ModelName);

        // Only the good event is predicted: the three refused records have no plausible event time (counted only).
        var (predictions, summary) = await ScoreAsync(model, inputs.ToAsyncEnumerable());
        Assert.Equal(PredictionStatus.OK, Assert.Single(predictions).Status);
        Assert.Equal(3, summary.Errors);
        AssertAcceptedDownstream(predictions);
    }

    public void Dispose() => Directory.Delete(_store, recursive: true);

    private async Task<(List<Prediction> Predictions, BatchSummary Summary)> ScoreAsync(ModelBuildResult model, IAsyncEnumerable<BatchInput> inputs)
    {
        var stored = new ModelStore(_store).Load(model.Manifest.Name, model.Manifest.Version);
        using var session = ModelSession.Create(stored, new SessionSettings { MaxBatchRows = 4, IntraOpThreads = 1 }, NullLogger.Instance);
        var scorer = new BackfillScorer(session, new FeatureValidator(stored.Manifest, NonFinitePolicy.Reject, rejectExtraFeatures: true), "test");
        using var sink = new ListSink();
        var summary = await scorer.RunAsync(inputs, sink);
        return (sink.Predictions, summary);
    }

    private static void AssertError(Prediction prediction, string code, string modelName, string version)
    {
        Assert.Equal(PredictionStatus.ERROR, prediction.Status);
        Assert.StartsWith(code + ":", prediction.ErrorReason, StringComparison.Ordinal);
        Assert.Equal((modelName, version), (prediction.ModelName, prediction.ModelVersion));
    }

    private void AssertAcceptedDownstream(List<Prediction> predictions) =>
        Assert.All(predictions, p => Assert.True(_downstream.Predictions(ScorerHarness.Codec.Serialize(p), null).IsValid, p.EventId));

    private sealed class ListSink : IPredictionSink
    {
        public List<Prediction> Predictions { get; } = [];

        public void Write(Prediction prediction) => Predictions.Add(prediction);

        public void Complete()
        {
        }

        public void Dispose()
        {
        }
    }
}
