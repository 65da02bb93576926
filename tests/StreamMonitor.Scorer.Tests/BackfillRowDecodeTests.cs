using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using StreamMonitor.Contracts;
using StreamMonitor.Models.Batch;
using StreamMonitor.Models.Inference;
using StreamMonitor.Models.Store;
using StreamMonitor.Testing;

namespace StreamMonitor.Scorer.Tests;

/// <summary>
/// A topic backfill whose good records are decoded straight into input rows writes the same predictions as one that
/// decodes every record into a FeatureEvent: the same scores, errors, reasons and ids, every field equal but the
/// timings.
/// </summary>
public sealed class BackfillRowDecodeTests(EmbeddedKafkaFixture cluster) : IClassFixture<EmbeddedKafkaFixture>, IDisposable
{
    private readonly string _store = Directory.CreateTempSubdirectory("streammon-rows-").FullName;

    [Fact]
    public async Task Rows_decoded_straight_into_the_input_give_the_predictions_of_the_feature_event_way()
    {
        var model = ScorerHarness.BuildModel(_store, "cancer", "1");
        var options = cluster.CreateOptions();
        var features = model.Manifest.Features;
        var good = 0;
        using (var producer = ScorerHarness.Producer(options))
        {
            for (var i = 0; i < 60; i++)
            {
                var featureEvent = ScorerHarness.Event(model, i);
                byte[]? value;
                switch (i % 10)
                {
                    case 1:
                        featureEvent.Features[features[3]] = double.NaN;
                        value = ScorerHarness.Codec.Serialize(featureEvent);
                        break;
                    case 3:
                        featureEvent.Features.Remove(features[7]);
                        featureEvent.Categorical[features[7]] = "high";
                        value = ScorerHarness.Codec.Serialize(featureEvent);
                        break;
                    case 5:
                        featureEvent.ModelName = "other";
                        value = ScorerHarness.Codec.Serialize(featureEvent);
                        break;
                    case 7:
                        value = ScorerHarness.WithInvalidUtf8EventId(featureEvent);
                        break;
                    case 8:
                        value = i == 8 ? null : Encoding.UTF8.GetBytes(System.Text.Json.JsonSerializer.Serialize(new
                        {
                            event_id = featureEvent.EventId, model_name = featureEvent.ModelName, entity_id = featureEvent.EntityId,
                            event_time_ms = featureEvent.EventTimeMs, features = featureEvent.Features,
                        }));
                        break;
                    case 9:
                        featureEvent.Features["not a feature"] = 1;
                        value = ScorerHarness.Codec.Serialize(featureEvent);
                        break;
                    default:
                        good++;
                        value = ScorerHarness.Codec.Serialize(featureEvent);
                        break;
                }

                producer.Produce(options.Topics.Features, new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes(featureEvent.EventId), Value = value! });
            }

            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
        }

        var stored = new ModelStore(_store).Load("cancer", "1");
        using var session = ModelSession.Create(stored, new SessionSettings { MaxBatchRows = 8, IntraOpThreads = 1 }, NullLogger.Instance);
        var validator = new FeatureValidator(stored.Manifest, NonFinitePolicy.Reject, rejectExtraFeatures: true);
        using var range = new KafkaRange(options, options.Topics.Features);
        var ranges = range.Partitions().Select(p => { var m = range.Watermarks(p); return new PartitionRange(p, m.Low.Value, m.High.Value); }).ToList();

        var asEvents = await range.ReadAsync(ranges).ToListAsync();
        var asRows = await range.ReadAsync(ranges, session, validator).ToListAsync();
        Assert.Equal(60, asRows.Count);
        Assert.Equal(good, asRows.Count(i => i.HasRow));
        Assert.DoesNotContain(asEvents, i => i.HasRow);

        var expected = await ScoreAsync(session, validator, asEvents);
        var actual = await ScoreAsync(session, validator, asRows);
        Assert.Equal(expected.Count(p => p.Status == PredictionStatus.OK), good + 5); // the five JSON records are good too
        Assert.Contains(expected, p => p.Status == PredictionStatus.ERROR);
        // Two reads of several partitions interleave them differently, so the order of the predictions is compared per event id.
        Assert.Equal(expected.Select(Content).Order(StringComparer.Ordinal), actual.Select(Content).Order(StringComparer.Ordinal));
    }

    public void Dispose() => Directory.Delete(_store, recursive: true);

    private static async Task<List<Prediction>> ScoreAsync(ModelSession session, FeatureValidator validator, List<BatchInput> inputs)
    {
        using var sink = new Sink();
        await new BackfillScorer(session, validator, "test").RunAsync(inputs.ToAsyncEnumerable(), sink);
        return sink.Predictions;
    }

    /// <summary>A prediction's encoded record with its timing left out: everything that must not depend on how it was decoded.</summary>
    private static string Content(Prediction prediction)
    {
        prediction.Timing = new PredictionTiming();
        return Convert.ToHexString(ScorerHarness.Codec.Serialize(prediction));
    }

    private sealed class Sink : IPredictionSink
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
