using Microsoft.Extensions.Logging.Abstractions;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.Validation;
using StreamMonitor.Models.Batch;
using StreamMonitor.Models.Inference;
using StreamMonitor.Models.Store;

namespace StreamMonitor.Scorer.Tests;

/// <summary>
/// The backfill's three overlapping stages (reader, scorer, publisher): every input gives its prediction with the
/// score a plain run gives, named after the provider that ran it and timed by <see cref="PredictionClock"/>;
/// a failure in any stage ends the run with that failure instead of a hang.
/// </summary>
public sealed class BackfillPipelineTests : IDisposable
{
    private readonly string _store = Directory.CreateTempSubdirectory("streammon-backfill-").FullName;

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public async Task Every_input_is_scored_once_with_the_score_of_a_plain_run_and_consistent_timing(int batchesInFlight)
    {
        var model = ScorerHarness.BuildModel(_store, "cancer", "1");
        var policy = new RecordPolicy(ScorerHarness.Codec);
        var inputs = Enumerable.Range(0, 1_001).Select(i =>
        {
            var featureEvent = ScorerHarness.Event(model, i);
            featureEvent.EventTimeMs = 1_700_000_000_000 + i;
            featureEvent.ModelName = i % 7 == 3 ? "other" : "cancer";
            return BatchInput.Validate(policy, featureEvent, null, "row-" + i, 0);
        }).ToList();

        using var session = Open(maxBatchRows: 8);
        using var sink = new ListSink();
        var summary = await new BackfillScorer(session, Validator(session), "test", batchesInFlight).RunAsync(inputs.ToAsyncEnumerable(), sink);

        Assert.Equal(inputs.Select(i => i.Event!.EventId), sink.Predictions.Select(p => p.EventId).Order(StringComparer.Ordinal));
        var byId = sink.Predictions.ToDictionary(p => p.EventId);
        Assert.Equal((1_001L, 143L), (summary.Rows, summary.Errors));
        Assert.Equal((858 + 7) / 8, summary.Batches);
        using var reference = Open(maxBatchRows: 1);
        var validator = Validator(reference);
        foreach (var input in inputs)
        {
            var prediction = byId[input.Event!.EventId];
            var timing = prediction.Timing;
            if (input.Event!.ModelName != "cancer")
            {
                Assert.Equal((PredictionStatus.ERROR, "", 0L), (prediction.Status, prediction.ExecutionProvider, timing.BatchId));
                continue;
            }

            Assert.Equal((PredictionStatus.OK, ExecutionProviders.Cpu), (prediction.Status, prediction.ExecutionProvider));
            Assert.Null(validator.Fill(input.Event, reference, 0));
            reference.Run(1);
            Assert.Equal(reference.OutputRow(0)[0], prediction.Score!.Value, 1e-6);
            Assert.InRange(timing.BatchSize, 1, 8);
            Assert.Equal(timing.BatchId == summary.Batches ? DispatchReason.DRAIN : DispatchReason.FULL, timing.DispatchReason);
            // Each stage is measured from one clock: together they cannot exceed end to end (1 us rounding per stage).
            Assert.InRange(timing.DecodeUs + timing.BatchWaitUs + timing.InferenceUs + timing.EncodeUs, timing.E2eUs - 4, timing.E2eUs);
            Assert.True(timing.InferenceUs > 0 && timing.BrokerTimeMs == 0 && timing.KafkaQueueUs == 0, $"{prediction.EventId}: {timing.InferenceUs} {timing.BrokerTimeMs}");
        }
    }

    [Fact]
    public async Task A_sink_that_fails_ends_the_run_with_its_exception()
    {
        ScorerHarness.BuildModel(_store, "cancer", "1");
        using var session = Open(maxBatchRows: 4);
        using var sink = new ListSink { FailAt = 50 };
        var run = new BackfillScorer(session, Validator(session), "test", batchesInFlight: 1).RunAsync(Events(session, 10_000), sink);
        var failure = await Assert.ThrowsAsync<IOException>(() => run.WaitAsync(TimeSpan.FromSeconds(60)));
        Assert.Equal("sink failed", failure.Message);
    }

    [Fact]
    public async Task A_reader_that_fails_ends_the_run_with_its_exception()
    {
        ScorerHarness.BuildModel(_store, "cancer", "1");
        using var session = Open(maxBatchRows: 4);
        using var sink = new ListSink();
        async IAsyncEnumerable<BatchInput> Failing()
        {
            await foreach (var input in Events(session, 30))
            {
                yield return input;
            }

            throw new InvalidDataException("reader failed");
        }

        var run = new BackfillScorer(session, Validator(session), "test").RunAsync(Failing(), sink);
        var failure = await Assert.ThrowsAsync<InvalidDataException>(() => run.WaitAsync(TimeSpan.FromSeconds(60)));
        Assert.Equal("reader failed", failure.Message);
    }

    public void Dispose() => Directory.Delete(_store, recursive: true);

    private static FeatureValidator Validator(ModelSession session) => new(session.Model.Manifest, NonFinitePolicy.Reject, rejectExtraFeatures: true);

    private static IAsyncEnumerable<BatchInput> Events(ModelSession session, int count)
    {
        var policy = new RecordPolicy(ScorerHarness.Codec);
        return Enumerable.Range(0, count).Select(i =>
        {
            var featureEvent = new FeatureEvent { EventId = "e-" + i, ModelName = "cancer", EventTimeMs = 1_700_000_000_000 + i };
            foreach (var (name, mean) in session.Model.Manifest.Features.Zip(session.Model.Manifest.FeatureMeans))
            {
                featureEvent.Features[name] = mean;
            }

            return BatchInput.Validate(policy, featureEvent, null, "row-" + i, 0);
        }).ToAsyncEnumerable();
    }

    private ModelSession Open(int maxBatchRows) =>
        ModelSession.Create(new ModelStore(_store).Load("cancer", "1"), new SessionSettings { MaxBatchRows = maxBatchRows, IntraOpThreads = 1, Provider = ExecutionProviderChoice.Cpu }, NullLogger.Instance);

    private sealed class ListSink : IPredictionSink
    {
        public List<Prediction> Predictions { get; } = [];

        public int FailAt { get; init; } = int.MaxValue;

        public void Write(Prediction prediction)
        {
            if (Predictions.Count == FailAt)
            {
                throw new IOException("sink failed");
            }

            Predictions.Add(prediction);
        }

        public void Complete()
        {
        }

        public void Dispose()
        {
        }
    }
}
