using StreamMonitor.Aggregator.Quality;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.Validation;
using StreamMonitor.Kafka;
using StreamMonitor.Streams;
using StreamMonitor.Testing;

namespace StreamMonitor.Aggregator.Tests;

/// <summary>
/// A malformed prediction is dead-lettered once: by the quality join only when no stage A topology reads the
/// predictions (<see cref="QualitySettings.RoutesMalformedPredictions"/>); malformed labels are always the join's.
/// </summary>
public sealed class QualityDeadLetterTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Malformed_predictions_are_dead_lettered_by_the_join_only_when_it_routes_them_and_malformed_labels_always(bool routes)
    {
        var topics = new TopicCatalog();
        var codec = new EventCodec();
        var settings = new QualitySettings(WindowSpec.Tumbling(TimeSpan.FromMinutes(1)).WithGrace(5_000), LabelScenario.HorizonMs, 60_000, topics) { RoutesMalformedPredictions = routes };
        var task = new QualityJoinTask(settings, 0, null, new Dictionary<string, byte[]>(StringComparer.Ordinal), InMemoryPipeline.Inputs(codec), codec);
        var output = new RecordingOutput();
        var records = new (string Topic, byte[] Value)[]
        {
            (topics.Predictions, [0xde, 0xad]),
            (topics.Predictions, codec.Serialize(new Prediction { EventId = "a", ModelName = "m|x", ModelVersion = "1", EventTimeMs = 1_000, Status = PredictionStatus.OK, Score = 0.5 })),
            (topics.Predictions, codec.Serialize(new Prediction { EventId = "b", ModelName = "m", ModelVersion = "1", EventTimeMs = 2_000, Status = PredictionStatus.OK, Score = 0.5 })),
            (topics.Labels, [0xbe, 0xef]),
            (topics.Labels, codec.Serialize(new Label { EventId = "", ModelName = "m", Value = 1, LabelTimeMs = 3_000 })),
        };
        for (var offset = 0; offset < records.Length; offset++)
        {
            task.Process(TaskDriver.Record(records[offset].Topic, 0, offset, records[offset].Value), output);
        }

        var letters = output.Records.Where(r => r.Topic == topics.DeadLetter).Select(r => codec.Deserialize<DeadLetter>(r.Value)).ToList();
        var fromLabels = letters.Where(l => l.SourceTopic == topics.Labels).Select(l => l.ReasonCode).ToList();
        Assert.Equal([ReasonCodes.DecodeTruncated, ReasonCodes.InvalidIdentifier], fromLabels);
        Assert.Equal(routes ? [ReasonCodes.DecodeTruncated, ReasonCodes.InvalidIdentifier] : [], letters.Where(l => l.SourceTopic == topics.Predictions).Select(l => l.ReasonCode));
        Assert.Equal(1, task.Waiting);
    }
}
