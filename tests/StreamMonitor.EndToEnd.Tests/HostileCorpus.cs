using System.Buffers.Binary;
using System.Text;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.Validation;
using StreamMonitor.Kafka;

namespace StreamMonitor.EndToEnd.Tests;

/// <summary>One record a careless or hostile producer sends, and what must become of it.</summary>
/// <param name="Topic">Where it is produced.</param>
/// <param name="Key">Record key (may be null).</param>
/// <param name="Value">Record value (may be null or empty).</param>
/// <param name="Expected">The dead-letter reason code it must get, or null when it is a valid record that must be accepted without a dead letter.</param>
/// <param name="Description">What it plays, for failure messages.</param>
public sealed record HostileRecord(string Topic, byte[]? Key, byte[]? Value, string? Expected, string Description)
{
    /// <summary>A code family ("DECODE_") the reason must start with instead of one exact code (random bytes).</summary>
    public string? ExpectedPrefix { get; init; }
}

/// <summary>
/// The hostile corpus of issue #11: at least 150 records across features, predictions, labels and the three result
/// topics — random bytes, truncations, wrong markers, unknown fingerprints, huge lengths, varint overflow, other record
/// types, empty values, bad identifiers (empty, tab, newline, NUL, 300 characters, invalid UTF-8), implausible event
/// times (long.MinValue/MaxValue, µs and s sent as ms, 100 years ahead), NaN and infinities, negative counts, zero
/// window sizes, a record near 1 MB, a 10,000-feature map. Deterministic for a seed.
/// </summary>
public static class HostileCorpus
{
    private const long HundredYearsMs = 100L * 365 * 86_400_000;

    /// <summary>
    /// Builds the corpus for the namespace of <paramref name="topics"/>. <paramref name="nowMs"/> is about the produce
    /// time (the record timestamps implausible event times are judged against); records with a plausible event time
    /// carry <paramref name="eventTimeMs"/>, the good traffic's first event time, so that, like a bad record sent
    /// alongside real traffic, they never move a stream time past the good events.
    /// </summary>
    public static List<HostileRecord> Build(TopicCatalog topics, string servedModel, IReadOnlyList<string> featureNames, long nowMs, long eventTimeMs, int seed = 11)
    {
        var codec = new EventCodec();
        var rng = new Random(seed);
        var corpus = new List<HostileRecord>();
        var n = 0;
        byte[] Key() => Encoding.UTF8.GetBytes($"hostile-{n++}");
        Dictionary<string, double?> Features() => featureNames.ToDictionary(f => f, _ => (double?)1.0, StringComparer.Ordinal);
        // Unique event ids: the scorer's ERROR predictions for these records must not look like duplicates to the quality join.
        FeatureEvent Event(string? id = null, string? model = null, long? time = null) =>
            new() { EventId = id ?? $"hostile-event-{corpus.Count}", ModelName = model ?? servedModel, EntityId = "entity", EventTimeMs = time ?? eventTimeMs, Features = Features() };
        Prediction Pred(string id = "hostile-prediction", string model = "cancer", string version = "1", long? time = null, PredictionStatus status = PredictionStatus.OK) =>
            new() { EventId = id, ModelName = model, ModelVersion = version, EventTimeMs = time ?? eventTimeMs, Status = status, Score = 0.5, OutputKind = OutputKind.BINARY_PROBABILITY };
        void Add(string topic, byte[]? value, string? expected, string description, string? prefix = null) =>
            corpus.Add(new HostileRecord(topic, Key(), value, expected, description) { ExpectedPrefix = prefix });
        void AddGeneric(string topic, byte[] valid, Func<byte[], byte[]>? foreign, string name)
        {
            for (var i = 0; i < 12; i++)
            {
                var bytes = new byte[rng.Next(0, 160)];
                rng.NextBytes(bytes);
                if (i % 2 == 1 && bytes.Length >= EventCodec.HeaderLength)
                {
                    // Half behind a real header, so the body reaches the Avro decoder.
                    valid.AsSpan(0, EventCodec.HeaderLength).CopyTo(bytes);
                }

                Add(topic, bytes, null, $"{name}: {bytes.Length} random bytes", bytes.Length == 0 ? ReasonCodes.EmptyRecord : "DECODE_");
            }

            foreach (var cut in new[] { 1, 9, EventCodec.HeaderLength + 1, valid.Length - 1 })
            {
                Add(topic, valid[..cut], cut < EventCodec.HeaderLength ? ReasonCodes.DecodeTruncated : ReasonCodes.DecodeCorruptBody, $"{name} cut to {cut} bytes");
            }

            var marker = (byte[])valid.Clone();
            marker[0] = 0xC2;
            Add(topic, marker, ReasonCodes.DecodeBadMarker, $"{name} with a wrong marker");
            var fingerprint = (byte[])valid.Clone();
            fingerprint[4] ^= 0x5A;
            Add(topic, fingerprint, ReasonCodes.DecodeUnknownFingerprint, $"{name} with an unknown fingerprint");
            var huge = valid[..EventCodec.HeaderLength].Concat(new byte[] { 0xFE, 0xFF, 0xFF, 0xFF, 0x0F, 0x41 }).ToArray();
            Add(topic, huge, ReasonCodes.DecodeCorruptBody, $"{name} declaring a 2 GB string");
            var overflow = valid[..EventCodec.HeaderLength].Concat(Enumerable.Repeat((byte)0xFF, 11)).ToArray();
            Add(topic, overflow, ReasonCodes.DecodeCorruptBody, $"{name} with a varint over 64 bits");
            // On the compacted result topics a null value is a tombstone, a legitimate deletion: skipped, not dead-lettered.
            var compacted = topic.Contains(".results.", StringComparison.Ordinal);
            Add(topic, null, compacted ? null : ReasonCodes.EmptyRecord, compacted ? $"{name}: a tombstone" : $"{name}: no value");
            Add(topic, [], ReasonCodes.EmptyRecord, $"{name}: empty value");
            if (foreign is not null)
            {
                Add(topic, foreign(valid), ReasonCodes.DecodeSchemaMismatch, $"another record type on the {name} topic");
            }
        }

        // Features: the scorer owns their dead letters.
        var feature = codec.Serialize(Event());
        AddGeneric(topics.Features, feature, _ => codec.Serialize(new Label { EventId = "x", Value = 1, LabelTimeMs = eventTimeMs }), "feature event");
        foreach (var model in new[] { "cancr", "cancer-v2", "CANCER" })
        {
            Add(topics.Features, codec.Serialize(Event(model: model)), ReasonCodes.UnknownModel, $"unknown model '{model}'");
        }

        foreach (var model in new[] { "can\tcer", "can\ncer", "can\0cer", "" })
        {
            Add(topics.Features, codec.Serialize(Event(model: model)), ReasonCodes.InvalidIdentifier, $"model name {Identifiers.Printable(model)}");
        }

        Add(topics.Features, codec.Serialize(Event(id: "")), ReasonCodes.InvalidIdentifier, "empty event id");
        Add(topics.Features, codec.Serialize(Event(id: new string('e', 300))), ReasonCodes.InvalidIdentifier, "300-character event id");
        Add(topics.Features, codec.Serialize(Event(id: "ev\u0007bell")), ReasonCodes.InvalidIdentifier, "event id with a control character");
        foreach (var id in new[] { "ev-AB", "ev-CD" })
        {
            var bytes = codec.Serialize(Event(id: id));
            bytes[bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(id)) + 3] = 0xC3;
            Add(topics.Features, bytes, ReasonCodes.DecodeCorruptBody, "event id with invalid UTF-8");
        }

        foreach (var (time, what) in new[]
                 {
                     (long.MaxValue, "long.MaxValue"), (long.MinValue, "long.MinValue"), (nowMs + HundredYearsMs, "100 years ahead"),
                     (nowMs * 1000 % EventTimePolicy.MaxEventTimeMs, "µs sent as ms"), (nowMs / 1000, "seconds sent as ms"), (-1, "-1"),
                 })
        {
            Add(topics.Features, codec.Serialize(Event(time: time)), ReasonCodes.EventTimeImplausible, $"event time {what}");
        }

        var wide = Event(model: "cancr");
        for (var i = 0; i < 10_000; i++)
        {
            wide.Features["f" + i] = i;
        }

        Add(topics.Features, codec.Serialize(wide), ReasonCodes.UnknownModel, "10,000 features for an unknown model");
        var nearMegabyte = new byte[950_000];
        rng.NextBytes(nearMegabyte);
        feature.AsSpan(0, EventCodec.HeaderLength).CopyTo(nearMegabyte);
        nearMegabyte[EventCodec.HeaderLength] = 0x02; // event id of length 1, then garbage: decodes partway, then fails
        Add(topics.Features, nearMegabyte, null, "a 950 kB corrupt record", "DECODE_");

        // Predictions: the aggregator owns their dead letters.
        var prediction = codec.Serialize(Pred());
        AddGeneric(topics.Predictions, prediction, _ => codec.Serialize(Event()), "prediction");
        Add(topics.Predictions, codec.Serialize(Pred(version: "")), ReasonCodes.InvalidIdentifier, "OK prediction without a version");
        Add(topics.Predictions, codec.Serialize(Pred(model: "can\tcer")), ReasonCodes.InvalidIdentifier, "OK prediction with a tab in its model name");
        Add(topics.Predictions, codec.Serialize(Pred(id: "")), ReasonCodes.InvalidIdentifier, "prediction without an event id");
        var nan = Pred();
        nan.Score = double.NaN;
        Add(topics.Predictions, codec.Serialize(nan), ReasonCodes.InvalidValue, "NaN score");
        var infinite = Pred();
        infinite.Probabilities = [double.PositiveInfinity, 0];
        Add(topics.Predictions, codec.Serialize(infinite), ReasonCodes.InvalidValue, "infinite probability");
        var negative = Pred();
        negative.Timing.E2eUs = -1;
        Add(topics.Predictions, codec.Serialize(negative), ReasonCodes.InvalidValue, "negative end-to-end latency");
        Add(topics.Predictions, codec.Serialize(Pred(time: long.MaxValue)), ReasonCodes.EventTimeImplausible, "prediction at long.MaxValue");
        Add(topics.Predictions, codec.Serialize(Pred(time: nowMs + HundredYearsMs)), ReasonCodes.EventTimeImplausible, "prediction 100 years ahead");
        Add(topics.Predictions, codec.Serialize(Pred(time: long.MinValue)), ReasonCodes.EventTimeImplausible, "prediction at long.MinValue");
        foreach (var (model, version) in new[] { ("cancr", ""), ("can\tcer", "1"), ("", "") })
        {
            // The scorer's answer to an unknown model: counted as an error in the "_unknown" bucket, not dead-lettered.
            Add(topics.Predictions, codec.Serialize(Pred(id: $"hostile-error-{corpus.Count}", model: model, version: version, status: PredictionStatus.ERROR)), null, $"ERROR prediction of model {Identifiers.Printable(model)} version '{version}'");
        }

        // Labels: the aggregator's label repartition step owns their dead letters (once, with their original coordinates).
        var label = codec.Serialize(new Label { EventId = "hostile-label", ModelName = servedModel, Value = 1, LabelTimeMs = eventTimeMs });
        AddGeneric(topics.Labels, label, _ => codec.Serialize(Pred()), "label");
        Add(topics.Labels, codec.Serialize(new Label { EventId = "", Value = 1, LabelTimeMs = eventTimeMs }), ReasonCodes.InvalidIdentifier, "label without an event id");
        Add(topics.Labels, codec.Serialize(new Label { EventId = "ev\tx", Value = 1, LabelTimeMs = eventTimeMs }), ReasonCodes.InvalidIdentifier, "label id with a tab");
        Add(topics.Labels, codec.Serialize(new Label { EventId = "x", ModelName = "m\nm", Value = 1, LabelTimeMs = eventTimeMs }), ReasonCodes.InvalidIdentifier, "label model with a newline");
        foreach (var value in new[] { double.NaN, double.PositiveInfinity, double.NegativeInfinity })
        {
            Add(topics.Labels, codec.Serialize(new Label { EventId = "x", Value = value, LabelTimeMs = eventTimeMs }), ReasonCodes.InvalidValue, $"label value {value}");
        }

        foreach (var time in new[] { long.MaxValue, nowMs + HundredYearsMs, long.MinValue })
        {
            Add(topics.Labels, codec.Serialize(new Label { EventId = "x", Value = 1, LabelTimeMs = time }), ReasonCodes.EventTimeImplausible, $"label time {time}");
        }

        // Result topics: the alerter owns their dead letters (the aggregator's projection only counts them).
        var start = eventTimeMs - (eventTimeMs % 60_000);
        LatencyWindowResult Latency(string model = "cancer", string version = "1", long? at = null, long size = 60_000, long count = 10, long errors = 0, double rate = 0) =>
            new() { ModelName = model, ModelVersion = version, WindowStartMs = at ?? start, WindowSizeMs = size, Count = count, ErrorCount = errors, ErrorRate = rate };
        AddGeneric(topics.LatencyResults, codec.Serialize(Latency()), _ => codec.Serialize(new DriftWindowResult { ModelName = "cancer", ModelVersion = "all", WindowStartMs = start, WindowSizeMs = 60_000 }), "latency result");
        Add(topics.LatencyResults, codec.Serialize(Latency(version: "")), ReasonCodes.InvalidIdentifier, "latency result without a version");
        Add(topics.LatencyResults, codec.Serialize(Latency(model: "can\tcer")), ReasonCodes.InvalidIdentifier, "latency result with a tab");
        Add(topics.LatencyResults, codec.Serialize(Latency(rate: double.NaN)), ReasonCodes.InvalidValue, "NaN error rate");
        Add(topics.LatencyResults, codec.Serialize(Latency(count: -5)), ReasonCodes.InvalidValue, "negative count");
        Add(topics.LatencyResults, codec.Serialize(Latency(errors: 11, rate: 1)), ReasonCodes.InvalidValue, "more errors than events");
        Add(topics.LatencyResults, codec.Serialize(Latency(size: 0)), ReasonCodes.InvalidValue, "zero window size");
        Add(topics.LatencyResults, codec.Serialize(Latency(at: long.MaxValue)), ReasonCodes.EventTimeImplausible, "window at long.MaxValue");
        Add(topics.LatencyResults, codec.Serialize(Latency(at: nowMs + HundredYearsMs - (nowMs % 60_000))), ReasonCodes.EventTimeImplausible, "window 100 years ahead");

        DriftWindowResult Drift(string model = "cancer", long? at = null, long size = 60_000, double share = 0) =>
            new() { ModelName = model, ModelVersion = "all", WindowStartMs = at ?? start, WindowSizeMs = size, Count = 10, DriftedShare = share };
        AddGeneric(topics.DriftResults, codec.Serialize(Drift()), null, "drift result");
        Add(topics.DriftResults, codec.Serialize(Drift(model: "")), ReasonCodes.InvalidIdentifier, "drift result without a model");
        Add(topics.DriftResults, codec.Serialize(Drift(share: double.NaN)), ReasonCodes.InvalidValue, "NaN drifted share");
        Add(topics.DriftResults, codec.Serialize(Drift(size: -60_000)), ReasonCodes.InvalidValue, "negative window size");
        Add(topics.DriftResults, codec.Serialize(Drift(at: long.MinValue)), ReasonCodes.EventTimeImplausible, "window at long.MinValue");
        var badFeature = Drift();
        badFeature.Features = [new FeatureDrift { Feature = "x\ty", DriftScore = 1, Threshold = 0.1 }];
        Add(topics.DriftResults, codec.Serialize(badFeature), ReasonCodes.InvalidIdentifier, "drifted feature name with a tab");

        QualityWindowResult Quality(string version = "1", long size = 300_000, long predictions = 10, double coverage = 0.5) =>
            new() { ModelName = "cancer", ModelVersion = version, WindowStartMs = start, WindowSizeMs = size, Predictions = predictions, Labeled = 5, Correct = 4, LabelCoverage = coverage };
        AddGeneric(topics.QualityResults, codec.Serialize(Quality()), null, "quality result");
        Add(topics.QualityResults, codec.Serialize(Quality(version: "")), ReasonCodes.InvalidIdentifier, "quality result without a version");
        Add(topics.QualityResults, codec.Serialize(Quality(coverage: 2)), ReasonCodes.InvalidValue, "label coverage 2");
        Add(topics.QualityResults, codec.Serialize(Quality(predictions: -1)), ReasonCodes.InvalidValue, "negative predictions");
        Add(topics.QualityResults, codec.Serialize(Quality(size: 0)), ReasonCodes.InvalidValue, "zero window size");
        return corpus;
    }

    /// <summary>Whether a dead letter's reason satisfies what the record expects.</summary>
    public static bool Matches(HostileRecord record, string reasonCode)
    {
        ArgumentNullException.ThrowIfNull(record);
        return record.Expected is { } exact
            ? string.Equals(exact, reasonCode, StringComparison.Ordinal)
            : record.ExpectedPrefix is { } prefix && reasonCode.StartsWith(prefix, StringComparison.Ordinal) && ReasonCodes.All.ContainsKey(reasonCode);
    }

    /// <summary>Whether the record must be accepted (no dead letter).</summary>
    public static bool IsAccepted(HostileRecord record) => record.Expected is null && record.ExpectedPrefix is null;

    /// <summary>The record for failure messages: what it plays, where, its size and fingerprint.</summary>
    public static string Describe(HostileRecord record) =>
        $"{record.Description} on {record.Topic} ({record.Value?.Length ?? 0} bytes{(record.Value is { Length: >= EventCodec.HeaderLength } v && v[0] == 0xC3 ? $", fingerprint {BinaryPrimitives.ReadInt64LittleEndian(v.AsSpan(2)):X16}" : "")})";
}
