using System.Text;
using Confluent.Kafka;
using StreamMonitor.Aggregator.Drift;
using StreamMonitor.Aggregator.Latency;
using StreamMonitor.Aggregator.Quality;
using StreamMonitor.Aggregator.Topology;
using StreamMonitor.Analytics.Drift;
using StreamMonitor.Analytics.Latency;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.State;
using StreamMonitor.Contracts.Validation;
using StreamMonitor.Hosting;
using StreamMonitor.Kafka;
using StreamMonitor.Streams;
using StreamMonitor.Testing;

namespace StreamMonitor.Aggregator.Tests;

/// <summary>What the tasks report to the service's metrics, recorded.</summary>
public sealed class RecordingMetrics : ITaskMetrics
{
    public List<(string Topic, string ReasonCode)> Rejections { get; } = [];

    public List<string> DeadLetters { get; } = [];

    public int DriftSkips { get; private set; }

    public void Late(string topic)
    {
    }

    public void DeadLetter(string reasonCode) => DeadLetters.Add(reasonCode);

    public void Rejected(string topic, string reasonCode) => Rejections.Add((topic, reasonCode));

    public void DriftSkipped() => DriftSkips++;

    public void PartialEmitted(WindowKind kind, bool final)
    {
    }

    public void ResultEmitted(WindowKind kind)
    {
    }

    public void MergeDuplicate()
    {
    }

    public void MergeExpired()
    {
    }
}

/// <summary>
/// Every aggregator input goes through the one record policy at the source, judged against the record's Kafka
/// timestamp: a rejected record is routed once and moves no stream time; an ERROR prediction of an invalid model counts
/// in the "_unknown" bucket; models without a drift profile are skipped, not dead-lettered.
/// </summary>
public sealed class RecordPolicySourceTests
{
    private const long Now = 1_763_800_000_000;
    private const long CenturyMs = 36_525L * 86_400_000;

    private static readonly EventCodec Codec = new();
    private static readonly TopicCatalog Topics = new();

    private static ConsumeResult<byte[], byte[]> Record(string topic, long offset, byte[]? value, long? timestampMs, int partition = 0) => new()
    {
        Topic = topic,
        Partition = partition,
        Offset = offset,
        Message = new Message<byte[], byte[]>
        {
            Key = Encoding.UTF8.GetBytes("k" + offset),
            Value = value!,
            Timestamp = timestampMs is { } t ? new Timestamp(t, TimestampType.CreateTime) : new Timestamp(0, TimestampType.NotAvailable),
        },
    };

    private static Prediction Prediction(string id, long eventTime, string model = "m", string version = "1", PredictionStatus status = PredictionStatus.OK) =>
        new() { EventId = id, ModelName = model, ModelVersion = version, EventTimeMs = eventTime, Status = status, Score = status == PredictionStatus.OK ? 0.5 : null, Timing = new PredictionTiming { E2eUs = 1_000 } };

    private static List<DeadLetter> Letters(RecordingOutput output, string topic) =>
        output.Records.Where(r => r.Topic == topic).Select(r => Codec.Deserialize<DeadLetter>(r.Value)).ToList();

    [Fact]
    public void Json_feature_events_and_labels_come_through_the_same_source_and_rules_as_avro()
    {
        var inputs = InMemoryPipeline.Inputs(Codec);
        byte[] Json(string text) => Encoding.UTF8.GetBytes(text.Replace("NOW", Now.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal));

        var features = inputs.Features(Record(Topics.Features, 0, Json("""{"event_id":"j1","model_name":"cancer","entity_id":"p","event_time_ms":NOW,"features":{"f0":0.5,"f1":null}}"""), Now + 10));
        Assert.True(features.TryGet(out var e, out _));
        Assert.Equal(("j1", Now, 0.5), (e.EventId, e.EventTimeMs, e.Features["f0"]));

        var label = inputs.Label(Record(Topics.Labels, 1, Json(""" {"event_id":"j1","label":1,"label_time_ms":NOW}"""), Now + 10));
        Assert.True(label.TryGet(out var l, out _));
        Assert.Equal(("j1", 1.0, (string?)null), (l.EventId, l.Value, l.ModelName));

        Assert.Equal(ReasonCodes.DecodeJson, inputs.Label(Record(Topics.Labels, 2, Json("""{"event_id":"j1","label":"1","label_time_ms":NOW}"""), Now)).Rejection!.ReasonCode);
        Assert.Equal(ReasonCodes.EventTimeImplausible, inputs.Label(Record(Topics.Labels, 3, Json("""{"event_id":"j1","label":1,"label_time_ms":NOW}"""), Now + CenturyMs)).Rejection!.ReasonCode);
        Assert.Equal(ReasonCodes.InvalidIdentifier, inputs.Features(Record(Topics.Features, 4, Json("""{"event_id":"","model_name":"m","entity_id":"","event_time_ms":NOW,"features":{}}"""), Now)).Rejection!.ReasonCode);
        Assert.Equal(ReasonCodes.DecodeBadMarker, inputs.Prediction(Record(Topics.Predictions, 5, Json("""{"event_id":"j1"}"""), Now)).Rejection!.ReasonCode);
    }

    [Fact]
    public void Stage_A_dead_letters_implausible_and_invalid_predictions_once_without_moving_its_stream_time()
    {
        var metrics = new RecordingMetrics();
        var options = new AggregatorOptions { Windows = ["10s"], Grace = TimeSpan.FromSeconds(1) };
        var stage = options.ToStageSettings(Topics, metrics);
        var topology = new LatencyTopology(InMemoryPipeline.Inputs(Codec), Codec, options.EffectiveSliThresholdsUs, Topics);
        var task = new WindowStageTask<LatencyAggregate>(topology, stage, new TopicPartition(Topics.Predictions, 0), null, Codec);
        var output = new RecordingOutput();
        var offset = 0;
        void Feed(Prediction? prediction, long? timestamp, byte[]? raw = null) =>
            task.Process(Record(Topics.Predictions, offset++, prediction is null ? raw : Codec.Serialize(prediction), timestamp), output);

        Feed(Prediction("a", Now), Now + 20);
        Feed(Prediction("max", long.MaxValue), Now + 30);
        Feed(Prediction("century", Now + CenturyMs), Now + 40);
        Feed(Prediction("µs", Now * 1_000), null); // µs sent as ms: outside 1970..9999 whatever the timestamp
        Feed(Prediction("ahead", Now + 7_200_000), Now + 50); // 2 h ahead of its record: skew beyond MaxAhead (1 h)
        Feed(Prediction("pipe", Now, model: "m|x"), Now + 60);
        Feed(null, Now + 70, raw: null);
        Feed(null, Now + 80, raw: [0xde, 0xad]);
        Assert.Equal(Now, task.StreamTime);
        Feed(Prediction("skew", Now + 1_800_000), Now + 90); // 30 min ahead: clock skew within the policy
        Assert.Equal(Now + 1_800_000, task.StreamTime);

        var letters = Letters(output, Topics.DeadLetter);
        Assert.Equal(
            [ReasonCodes.EventTimeImplausible, ReasonCodes.EventTimeImplausible, ReasonCodes.EventTimeImplausible, ReasonCodes.EventTimeImplausible, ReasonCodes.InvalidIdentifier, ReasonCodes.EmptyRecord, ReasonCodes.DecodeTruncated],
            letters.Select(l => l.ReasonCode));
        Assert.Equal(long.MaxValue, letters[0].EventTimeMs);
        Assert.Equal((1L, "aggregator", Now), (letters[0].SourceOffset, letters[0].Service, letters[0].ObservedAtMs));
        Assert.Equal(DeadLetter.KeyOf(Topics.Predictions, 0, 1), output.Records.First(r => r.Topic == Topics.DeadLetter).Key);
        Assert.Equal(letters.Select(l => (Topics.Predictions, l.ReasonCode)), metrics.Rejections);
        Assert.Equal(7, task.Malformed);
        Assert.DoesNotContain(output.Records, r => r.Topic == Topics.LateEvents);
    }

    [Fact]
    public void An_error_prediction_of_an_invalid_model_counts_as_an_error_in_the_unknown_bucket_and_is_not_dead_lettered()
    {
        var pipeline = new InMemoryPipeline(new AggregatorOptions { Windows = ["10s"], Grace = TimeSpan.Zero });
        var task = new WindowStageTask<LatencyAggregate>(pipeline.Topology, pipeline.Stage, new TopicPartition(Topics.Predictions, 0), null, Codec);
        var output = new RecordingOutput();
        var records = new[]
        {
            Prediction("typo", Now, model: "fruad", version: "", status: PredictionStatus.ERROR),
            Prediction("tab", Now + 1, model: "fraud\tv2", status: PredictionStatus.ERROR),
            Prediction("pipe", Now + 2, model: "a|b", status: PredictionStatus.ERROR),
            Prediction("ok", Now + 3),
            Prediction("next", Now + 20_000),
        };
        for (var i = 0; i < records.Length; i++)
        {
            task.Process(Record(Topics.Predictions, i, Codec.Serialize(records[i]), Now + 20_000), output);
        }

        Assert.Empty(Letters(output, Topics.DeadLetter));
        var partials = output.Records.Where(r => r.Topic == Topics.WindowPartials).Select(r => PartialRecords.Parse(r.Value)).Where(p => p.Window is not null)
            .ToDictionary(p => (p.Window!.Value.ModelName, p.Window!.Value.ModelVersion), p => LatencyAggregate.Codec.ReadVersioned(new BinaryReader(new MemoryStream(p.State))));
        Assert.Equal((3L, 3L), (partials[(Identifiers.UnknownModelBucket, Identifiers.UnknownModelBucket)].Count, partials[(Identifiers.UnknownModelBucket, Identifiers.UnknownModelBucket)].ErrorCount));
        Assert.Equal((1L, 0L), (partials[("m", "1")].Count, partials[("m", "1")].ErrorCount));
        Assert.Equal(2, partials.Count);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Drift_counts_models_without_a_profile_and_rejected_features_and_dead_letters_them_only_when_asked(bool deadLetterFeatures)
    {
        var random = new Random(3);
        var profile = new ReferenceProfile { Model = "cancer", Numeric = [NumericProfile.Build("f0", Enumerable.Range(0, 100).Select(_ => random.NextDouble()).ToList())] };
        profile.Seal();
        var metrics = new RecordingMetrics();
        var options = new AggregatorOptions { Windows = ["10s"], Grace = TimeSpan.Zero };
        var stage = options.ToStageSettings(Topics, metrics);
        var drift = new DriftTopology(InMemoryPipeline.Inputs(Codec), Codec, new Dictionary<string, ReferenceProfile> { ["cancer"] = profile }, new DriftThresholds(), Topics, deadLetterFeatures, metrics);
        var task = new WindowStageTask<ModelDriftAggregate>(drift, stage, new TopicPartition(Topics.Features, 0), null, Codec);
        var output = new RecordingOutput();
        FeatureEvent Event(string id, string model, long time) => new() { EventId = id, ModelName = model, EventTimeMs = time, Features = new Dictionary<string, double?> { ["f0"] = 0.5 } };
        var values = new[]
        {
            Codec.Serialize(Event("c1", "cancer", Now)),
            Codec.Serialize(Event("o1", "other", Now + 1)),
            [0xde, 0xad, 0xbe, 0xef],
            Codec.Serialize(Event("far", "cancer", Now + CenturyMs)),
            Codec.Serialize(Event("o2", "other", Now + 15_000)),
        };
        for (var i = 0; i < values.Length; i++)
        {
            task.Process(Record(Topics.Features, i, values[i], Now + 10), output);
        }

        // The second "other" event advanced the stream time and closed the first window with the one "cancer" event.
        Assert.Equal(Now + 15_000, task.StreamTime);
        Assert.Equal(2, metrics.DriftSkips);
        Assert.Equal([(Topics.Features, ReasonCodes.DecodeTruncated), (Topics.Features, ReasonCodes.EventTimeImplausible)], metrics.Rejections);
        Assert.Equal(deadLetterFeatures ? [ReasonCodes.DecodeTruncated, ReasonCodes.EventTimeImplausible] : [], Letters(output, Topics.DeadLetter).Select(l => l.ReasonCode));
        var partial = output.Records.Where(r => r.Topic == Topics.WindowPartials).Select(r => PartialRecords.Parse(r.Value)).Single(p => p.Window is not null);
        Assert.Equal(("cancer", 1L), (partial.Window!.Value.ModelName, drift.Codec.Decode(partial.State).State!.Count));
    }

    [Fact]
    public void The_merge_dead_letters_a_partial_of_a_model_whose_profile_is_gone_instead_of_failing()
    {
        var profile = new ReferenceProfile { Model = "cancer", Numeric = [NumericProfile.Build("f0", [0.1, 0.2, 0.3])] };
        profile.Seal();
        var drift = new DriftTopology(InMemoryPipeline.Inputs(Codec), Codec, new Dictionary<string, ReferenceProfile> { ["cancer"] = profile }, new DriftThresholds(), Topics);
        var merge = new MergeStageTask([drift], new MergeSettings(0, 0, 0, Topics.DeadLetter), null, Codec, new ProgressBoard());
        var output = new RecordingOutput();
        var state = new ModelDriftAggregate();
        state.Add(profile, new FeatureEvent { EventId = "e", ModelName = "gone", EventTimeMs = Now, Features = new Dictionary<string, double?> { ["f0"] = 0.2 } });
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer))
        {
            ModelDriftAggregate.Codec.Write(writer, state);
        }

        var window = new WindowKey(WindowKind.Drift, "gone", ModelKey.AllVersionsValue, Now, 10_000);
        var source = PartialRecords.SourceOf(Topics.Features, 0);
        merge.Process(Record(Topics.WindowPartials, 0, PartialRecords.PartialValue(window, source, final: true, buffer.ToArray()), null), output);
        merge.Process(Record(Topics.WindowPartials, 1, [9, 9, 9], null), output);
        Assert.Equal([ReasonCodes.PartialUnmergeable, ReasonCodes.PartialMalformed], Letters(output, Topics.DeadLetter).Select(l => l.ReasonCode));
        Assert.Equal(0, merge.OpenWindows);
    }

    [Fact]
    public void The_quality_join_rejects_an_implausible_label_or_prediction_before_it_can_expire_anything()
    {
        var metrics = new RecordingMetrics();
        var settings = new QualitySettings(WindowSpec.Tumbling(TimeSpan.FromMinutes(1)).WithGrace(5_000), 600_000, 60_000, Topics, Metrics: metrics) { RoutesMalformedPredictions = false };
        var task = new QualityJoinTask(settings, 0, null, new Dictionary<string, byte[]>(StringComparer.Ordinal), InMemoryPipeline.Inputs(Codec), Codec);
        var output = new RecordingOutput();
        task.Process(Record(Topics.Predictions, 0, Codec.Serialize(Prediction("p", Now)), Now + 20), output);
        task.Process(Record(Topics.Labels, 0, Codec.Serialize(new Label { EventId = "x", Value = 1, LabelTimeMs = Now + CenturyMs }), Now + 30), output);
        task.Process(Record(Topics.Predictions, 1, Codec.Serialize(Prediction("q", Now + CenturyMs)), Now + 40), output);
        task.Process(Record(Topics.Labels, 1, Codec.Serialize(new Label { EventId = "y", Value = double.NaN, LabelTimeMs = Now + 50 }), Now + 50), output);
        Assert.Equal(Now, task.StreamTime);
        task.Process(Record(Topics.Labels, 2, Codec.Serialize(new Label { EventId = "p", Value = 1, LabelTimeMs = Now + 60_000 }), Now + 60_000), output);

        // The prediction still waited for its label: it joined, nothing expired.
        Assert.Equal(0, task.Waiting);
        Assert.Equal(0, task.LabelsUnknown);
        var letters = Letters(output, Topics.DeadLetter);
        Assert.Equal([(Topics.Labels, ReasonCodes.EventTimeImplausible), (Topics.Labels, ReasonCodes.InvalidValue)], letters.Select(l => (l.SourceTopic, l.ReasonCode)));
        Assert.Equal(letters.Select(l => (l.SourceTopic, l.ReasonCode)), metrics.Rejections);

        // The merge of the two lanes orders a rejected record first: it has no event time to wait for.
        var processor = new QualityProcessor(settings, InMemoryPipeline.Inputs(Codec), Codec);
        Assert.Equal(long.MinValue, processor.EventTimeOf(0, Record(Topics.Predictions, 2, Codec.Serialize(Prediction("r", long.MaxValue)), Now)));
        Assert.Equal(Now + 60_000, processor.EventTimeOf(1, Record(Topics.Labels, 3, Codec.Serialize(new Label { EventId = "p", Value = 1, LabelTimeMs = Now + 60_000 }), Now + 60_000)));
    }

    [Fact]
    public void A_horizon_near_long_MaxValue_neither_expires_a_prediction_at_once_nor_forgets_its_label()
    {
        var settings = new QualitySettings(WindowSpec.Tumbling(TimeSpan.FromMinutes(1)).WithGrace(5_000), long.MaxValue - 1, 60_000, Topics);
        var task = new QualityJoinTask(settings, 0, null, new Dictionary<string, byte[]>(StringComparer.Ordinal), InMemoryPipeline.Inputs(Codec), Codec);
        var output = new RecordingOutput();
        task.Process(Record(Topics.Predictions, 0, Codec.Serialize(Prediction("p", Now)), Now), output);
        task.Process(Record(Topics.Predictions, 1, Codec.Serialize(Prediction("q", Now + 1_000)), Now + 1_000), output);
        Assert.Equal(2, task.Waiting); // a wrapped "time + horizon" would have expired both at once
        task.Process(Record(Topics.Labels, 0, Codec.Serialize(new Label { EventId = "p", Value = 1, LabelTimeMs = Now + 2_000 }), Now + 2_000), output);
        task.Process(Record(Topics.Labels, 1, Codec.Serialize(new Label { EventId = "p", Value = 0, LabelTimeMs = Now + 3_000 }), Now + 3_000), output);
        Assert.Equal([ReasonCodes.LabelDuplicate], Letters(output, Topics.DeadLetter).Select(l => l.ReasonCode));
        Assert.Equal(1, task.Waiting);
        Assert.Throws<FormatException>(() => AggregatorOptions.ParseDuration("200000000000d"));
        Assert.Equal(106_751_991_167L * 86_400_000, AggregatorOptions.ParseDuration("106751991167d"));
    }

    [Fact]
    public void The_projection_dead_letters_what_line_protocol_cannot_carry_keeps_the_other_points_and_leaves_refused_results_to_the_alerter()
    {
        var projection = new ResultProjection(Topics, new RecordPolicy(Codec), Codec, new StreamMonitor.Hosting.Projection.ProjectionMetrics(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()), "aggregator"));
        var latency = new LatencyWindowResult { ModelName = "tail\\", ModelVersion = "1", WindowStartMs = Now, WindowSizeMs = 10_000, Count = 1, ErrorCount = 1, ErrorRate = 1, LatencySlis = [new LatencySli { ThresholdUs = 50_000, Good = 0, Total = 1 }] };
        var points = projection.Points(Record(Topics.LatencyResults, 7, Codec.Serialize(latency), Now + 20_000), out var letter);
        Assert.Empty(points);
        var deadLetter = Codec.Deserialize<DeadLetter>(letter!.Value.Value);
        Assert.Equal((ReasonCodes.ProjectionRejected, Topics.LatencyResults, 7L, Now), (deadLetter.ReasonCode, deadLetter.SourceTopic, deadLetter.SourceOffset, deadLetter.EventTimeMs));
        Assert.Contains("2 of 2 points", deadLetter.Reason, StringComparison.Ordinal);

        // One feature name InfluxDB cannot carry costs only its own point.
        var drift = new DriftWindowResult
        {
            ModelName = "cancer", ModelVersion = "all", WindowStartMs = Now, WindowSizeMs = 60_000, Count = 3, ReferenceId = "r",
            Features = [new FeatureDrift { Feature = "good", Count = 3, DriftScore = 0.1, Threshold = 0.2 }, new FeatureDrift { Feature = "bad\\", Count = 3, DriftScore = 0.1, Threshold = 0.2 }],
        };
        points = projection.Points(Record(Topics.DriftResults, 8, Codec.Serialize(drift), Now + 70_000), out letter);
        Assert.Equal(["drift_window", "drift_feature"], points.Select(p => p.MeasurementName));
        Assert.Contains("1 of 3 points", Codec.Deserialize<DeadLetter>(letter!.Value.Value).Reason, StringComparison.Ordinal);

        // A window in 2300 is a valid result (without a record timestamp to judge it by) but past InfluxDB's ns range.
        var future = new QualityWindowResult { ModelName = "m", ModelVersion = "1", WindowStartMs = 10_413_792_000_000, WindowSizeMs = 60_000 };
        Assert.Empty(projection.Points(Record(Topics.QualityResults, 9, Codec.Serialize(future), null), out letter));
        Assert.Equal(ReasonCodes.ProjectionRejected, letter!.Value.Code);

        // A result the record policy rejects is only counted here (the alerter, which reads the result topics for its
        // decisions, dead-letters it: one dead letter per record); a good one has no dead letter.
        Assert.Empty(projection.Points(Record(Topics.QualityResults, 10, [0xde, 0xad], Now), out letter));
        Assert.Null(letter);
        var good = new QualityWindowResult { ModelName = Identifiers.UnknownModelBucket, ModelVersion = Identifiers.UnknownModelBucket, WindowStartMs = Now, WindowSizeMs = 60_000, Predictions = 2 };
        Assert.Single(projection.Points(Record(Topics.QualityResults, 11, Codec.Serialize(good), Now + 70_000), out letter));
        Assert.Null(letter);
    }

    [Fact]
    public void A_record_is_decoded_once_for_every_reader_and_a_reused_consume_result_is_decoded_again()
    {
        var inputs = InMemoryPipeline.Inputs(Codec);
        var record = Record(Topics.Predictions, 0, Codec.Serialize(Prediction("a", Now)), Now);
        var first = inputs.Prediction(record).Value;
        Assert.Same(first, inputs.Prediction(record).Value);

        // Same object, next record (as a benchmark or a test harness may do): its own outcome, never the previous one.
        record.Offset = 1;
        record.Message.Value = Codec.Serialize(Prediction("b", long.MaxValue));
        Assert.Equal(ReasonCodes.EventTimeImplausible, inputs.Prediction(record).Rejection?.ReasonCode);
        record.Message.Value = Codec.Serialize(Prediction("c", Now));
        Assert.Equal("c", inputs.Prediction(record).Value?.EventId);
    }

    [Fact]
    public void Model_names_and_versions_must_not_hold_the_window_key_separator()
    {
        var policy = new RecordPolicy(Codec);
        Assert.Equal(ReasonCodes.InvalidIdentifier, policy.Predictions(Codec.Serialize(Prediction("a", Now, model: "m|x")), Now).Rejection?.ReasonCode);
        Assert.Equal(ReasonCodes.InvalidIdentifier, policy.Predictions(Codec.Serialize(Prediction("a", Now, version: "1|2")), Now).Rejection?.ReasonCode);
        Assert.Equal(ReasonCodes.InvalidIdentifier, policy.Features(Codec.Serialize(new FeatureEvent { EventId = "a", ModelName = "m|x", EventTimeMs = Now }), Now).Rejection?.ReasonCode);
        Assert.Equal(ReasonCodes.InvalidIdentifier, policy.Labels(Codec.Serialize(new Label { EventId = "a", ModelName = "m|x", Value = 1, LabelTimeMs = Now }), Now).Rejection?.ReasonCode);
        var error = policy.Predictions(Codec.Serialize(Prediction("a", Now, model: "m|x", status: PredictionStatus.ERROR)), Now).Value!;
        Assert.Equal((Identifiers.UnknownModelBucket, Identifiers.UnknownModelBucket), (error.ModelName, error.ModelVersion));
        Assert.Null(Identifiers.CheckModel("model", "fraud-v2.1 (beta)"));
    }

    [Fact]
    public void Event_time_options_default_to_one_hour_ahead_and_3650_days_behind_and_are_validated()
    {
        static IEnumerable<string> Errors(Action<EventTimeOptions> configure)
        {
            var options = new AggregatorOptions();
            configure(options.EventTime);
            return new ConfigurationKeyValidator<AggregatorOptions>(null, AggregatorOptions.SectionName).Validate(null, options).Failures ?? [];
        }

        Assert.Empty(Errors(_ => { }));
        var policy = new EventTimeOptions().ToPolicy();
        Assert.Equal((3_600_000L, 3650L * 86_400_000), (policy.MaxAheadMs, policy.MaxBehindMs));
        Assert.Contains(Errors(e => e.MaxAhead = TimeSpan.FromMinutes(-1)), m => m.Contains("Aggregator:EventTime:MaxAhead", StringComparison.Ordinal));
        Assert.Contains(Errors(e => e.MaxAhead = TimeSpan.FromDays(31)), m => m.Contains("Aggregator:EventTime:MaxAhead", StringComparison.Ordinal));
        Assert.Contains(Errors(e => e.MaxBehind = TimeSpan.Zero), m => m.Contains("Aggregator:EventTime:MaxBehind", StringComparison.Ordinal));
        Assert.Empty(Errors(e => (e.MaxAhead, e.MaxBehind) = (TimeSpan.Zero, TimeSpan.FromDays(30))));
    }
}
