using Confluent.Kafka;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.Validation;
using StreamMonitor.Models.Inference;
using StreamMonitor.Models.Store;

namespace StreamMonitor.Scorer.Tests;

public sealed class MicroBatcherTests
{
    [Fact]
    public void A_full_batch_is_due_at_once_whatever_the_delay()
    {
        var batcher = new MicroBatcher(maxRows: 3, queueDelayTicks: 1_000);
        batcher.Add(10);
        batcher.Add(11);
        Assert.False(batcher.IsFull);
        batcher.Add(12);
        Assert.True(batcher.IsFull);
        Assert.Throws<InvalidOperationException>(() => batcher.Add(13));
    }

    [Fact]
    public void A_partial_batch_is_due_when_its_first_row_has_waited_the_delay()
    {
        var batcher = new MicroBatcher(maxRows: 64, queueDelayTicks: 100);
        Assert.Equal(long.MaxValue, batcher.DeadlineTicks);
        Assert.False(batcher.IsDue(1_000_000));
        batcher.Add(1_000);
        batcher.Add(1_050);
        Assert.Equal(1_100, batcher.DeadlineTicks); // from the first row, not the last
        Assert.False(batcher.IsDue(1_099));
        Assert.True(batcher.IsDue(1_100));
        batcher.Reset();
        Assert.Equal(0, batcher.Count);
        batcher.Add(5_000);
        Assert.Equal(5_100, batcher.DeadlineTicks);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_partial_batch_leaves_when_nothing_more_is_waiting_only_with_idle_dispatch(bool dispatchWhenIdle)
    {
        var batcher = new MicroBatcher(maxRows: 64, queueDelayTicks: 100, dispatchWhenIdle);
        Assert.False(batcher.WantsOnlyWaitingRows);
        Assert.Null(batcher.Due(0, nothingWaiting: true));
        batcher.Add(1_000);
        Assert.Equal(dispatchWhenIdle, batcher.WantsOnlyWaitingRows);
        Assert.Null(batcher.Due(1_010, nothingWaiting: false));
        Assert.Equal(dispatchWhenIdle ? DispatchReason.DRAIN : null, batcher.Due(1_010, nothingWaiting: true));

        // The delay stays a cap either way.
        Assert.Equal(DispatchReason.DEADLINE, batcher.Due(1_100, nothingWaiting: false));
        Assert.Equal(DispatchReason.DEADLINE, batcher.Due(1_100, nothingWaiting: true));
    }
}

public sealed class OffsetTrackerTests
{
    private static readonly TopicPartition P0 = new("t", 0);
    private static readonly TopicPartition P1 = new("t", 1);

    [Fact]
    public void Only_the_contiguous_acknowledged_prefix_is_committable()
    {
        var tracker = new OffsetTracker();
        foreach (var offset in new long[] { 10, 11, 12, 13 })
        {
            tracker.Consumed(P0, offset);
        }

        tracker.Consumed(P1, 5);
        tracker.Acknowledged(P0, 11);
        tracker.Acknowledged(P0, 13);
        Assert.Empty(tracker.TakeCommittable()); // 10 is not acknowledged: nothing may be committed

        tracker.Acknowledged(P0, 10);
        Assert.Equal([new TopicPartitionOffset(P0, 12)], tracker.TakeCommittable());
        Assert.Empty(tracker.TakeCommittable()); // no progress, no commit

        tracker.Acknowledged(P0, 12);
        tracker.Acknowledged(P1, 5);
        Assert.Equal(
            [new TopicPartitionOffset(P0, 14), new TopicPartitionOffset(P1, 6)],
            tracker.TakeCommittable().OrderBy(o => o.Partition.Value));
        Assert.Equal(0, tracker.InFlight);
    }

    [Fact]
    public void Removed_partitions_are_forgotten()
    {
        var tracker = new OffsetTracker();
        tracker.Consumed(P0, 1);
        tracker.Remove([P0]);
        tracker.Acknowledged(P0, 1);
        Assert.Empty(tracker.TakeCommittable());
        Assert.Equal(0, tracker.InFlight);
    }
}

public sealed class FeatureValidatorTests
{
    private static readonly ModelManifest Manifest = new()
    {
        Name = "m",
        Version = "1",
        Features = ["a", "b", "c"],
        FeatureMeans = [1.5, 2.5, 3.5],
    };

    private static FeatureEvent Event(params (string Name, double? Value)[] features) => new()
    {
        EventId = "e",
        ModelName = "m",
        Features = features.ToDictionary(f => f.Name, f => f.Value),
    };

    [Fact]
    public void A_valid_event_is_written_in_input_column_order()
    {
        var row = new float[3];
        Assert.Null(new FeatureValidator(Manifest, NonFinitePolicy.Reject, true).Fill(Event(("c", 3), ("a", 1), ("b", 2)), row));
        Assert.Equal([1f, 2f, 3f], row);
    }

    [Theory]
    [InlineData("missing", ReasonCodes.MissingFeature)]
    [InlineData("extra", ReasonCodes.ExtraFeature)]
    [InlineData("null", ReasonCodes.NullValue)]
    [InlineData("nan", ReasonCodes.NonFinite)]
    [InlineData("inf", ReasonCodes.NonFinite)]
    [InlineData("overflow", ReasonCodes.OutOfRange)]
    [InlineData("string", ReasonCodes.WrongType)]
    public void Each_defect_has_its_reason_code(string defect, string code)
    {
        var featureEvent = defect switch
        {
            "missing" => Event(("a", 1), ("b", 2)),
            "extra" => Event(("a", 1), ("b", 2), ("c", 3), ("d", 4)),
            "null" => Event(("a", 1), ("b", null), ("c", 3)),
            "nan" => Event(("a", 1), ("b", double.NaN), ("c", 3)),
            "inf" => Event(("a", 1), ("b", double.PositiveInfinity), ("c", 3)),
            "overflow" => Event(("a", 1), ("b", 1e300), ("c", 3)),
            _ => Event(("a", 1), ("b", 2)),
        };
        if (defect == "string")
        {
            featureEvent.Categorical["c"] = "three";
        }

        var error = new FeatureValidator(Manifest, NonFinitePolicy.Reject, true).Fill(featureEvent, new float[3]);
        Assert.NotNull(error);
        Assert.Equal(code, error.Code);
    }

    [Fact]
    public void Impute_replaces_null_and_non_finite_values_by_the_training_mean_and_extra_features_can_be_allowed()
    {
        var row = new float[3];
        var validator = new FeatureValidator(Manifest, NonFinitePolicy.ImputeMean, rejectExtraFeatures: false);
        Assert.Null(validator.Fill(Event(("a", null), ("b", double.NaN), ("c", 3), ("d", 4)), row));
        Assert.Equal([1.5f, 2.5f, 3f], row);
    }

    [Fact]
    public void Categorical_values_that_are_not_model_features_are_monitoring_data_and_ignored()
    {
        var featureEvent = Event(("a", 1), ("b", 2), ("c", 3));
        featureEvent.Categorical["region"] = "north";
        Assert.Null(new FeatureValidator(Manifest, NonFinitePolicy.Reject, true).Fill(featureEvent, new float[3]));
    }
}

public sealed class PredictionEncoderTests
{
    [Fact]
    public void The_fast_encoder_writes_exactly_the_bytes_of_the_codec()
    {
        var codec = new EventCodec();
        var encoder = new PredictionEncoder(codec);
        Assert.True(encoder.IsFastPath);
        var full = new Prediction
        {
            EventId = "e-ü-1", ModelName = "cancer", ModelVersion = "12", ModelHash = new string('a', 64), EntityId = "p",
            EventTimeMs = -5, Status = PredictionStatus.OK, OutputKind = OutputKind.MULTICLASS_PROBABILITIES, Score = 0.75,
            PredictedClass = 2, Probabilities = [0.1, 0.15, 0.75], ExecutionProvider = "CPUExecutionProvider", ScorerInstance = "i", Shadow = true,
            Timing = new PredictionTiming
            {
                BrokerTimeMs = 1_700_000_000_000, ConsumedAtMs = 1_700_000_000_001, KafkaQueueUs = 1000, DecodeUs = 3, BatchWaitUs = 5000,
                BatchId = long.MaxValue, BatchSize = 64, DispatchReason = DispatchReason.DEADLINE, InferenceUs = 250, EncodeUs = 7, E2eUs = 5300, PublishedAtMs = 1_700_000_000_006,
            },
        };
        var error = new Prediction { EventId = "x", Status = PredictionStatus.ERROR, ErrorReason = "VALIDATION_NULL_VALUE: feature 'a' is null" };
        Assert.Equal(codec.Serialize(full), encoder.Encode(full));
        Assert.Equal(codec.Serialize(error), encoder.Encode(error));
        Assert.Equal("e-ü-1", codec.Deserialize<Prediction>(encoder.Encode(full)).EventId);
    }
}
