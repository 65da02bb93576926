using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Prometheus;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.Validation;
using StreamMonitor.Hosting;
using StreamMonitor.Models.Inference;

namespace StreamMonitor.Scorer;

/// <summary>A consumed record and when it arrived.</summary>
internal sealed record RecordContext(ConsumeResult<byte[], byte[]> Record, long ConsumeTicks, long ConsumedAtMs)
{
    /// <summary>The record's Kafka timestamp, or null when it has none.</summary>
    public long? RecordTimestampMs => Record.Message.Timestamp.Type == TimestampType.NotAvailable ? null : Record.Message.Timestamp.UnixTimestampMs;
}

/// <summary>A row waiting in a batch; instances are reused batch after batch.</summary>
internal sealed class PendingRow
{
    public FeatureEvent Event { get; private set; } = null!;

    public RecordContext Context { get; private set; } = null!;

    public RowClock Clock { get; private set; }

    public void Set(FeatureEvent featureEvent, RecordContext context, long enqueueTicks)
    {
        Event = featureEvent;
        Context = context;
        Clock = new RowClock(context.ConsumeTicks, enqueueTicks);
    }
}

/// <summary>Per served model: the version in service, its shadow, the batcher, the waiting rows and the pre-resolved metrics.</summary>
internal sealed class ModelSlot : IDisposable
{
    public ModelSlot(string name, ScorerOptions options, ScorerMetrics metrics)
    {
        Name = name;
        ShadowName = options.Shadows.GetValueOrDefault(name);
        Batcher = new MicroBatcher(options.BatchSize, options.QueueDelayMs * System.Diagnostics.Stopwatch.Frequency / 1000, options.DispatchWhenIdle);
        Rows = Enumerable.Range(0, options.BatchSize).Select(_ => new PendingRow()).ToArray();
        ShadowRowMap = new int[options.BatchSize];
        Timings = new PredictionTiming[options.BatchSize];
        Stages = metrics.StageHistograms(name);
        BatchRows = metrics.BatchRows(name);
        Batches = metrics.Batches(name);
        OkCounter = metrics.Predictions(name, "").Ok;
    }

    public string Name { get; }

    public string? ShadowName { get; }

    public ServedModel? Current { get; set; }

    public ServedModel? Shadow { get; set; }

    public MicroBatcher Batcher { get; }

    public PendingRow[] Rows { get; }

    public int[] ShadowRowMap { get; }

    /// <summary>The timings of the batch just published, recorded in the metrics once every row is handed off.</summary>
    public PredictionTiming[] Timings { get; }

    /// <summary>Stage histograms, indexed by <see cref="PredictionStage"/>.</summary>
    public Histogram.Child[] Stages { get; }

    public Histogram.Child BatchRows { get; }

    public Counter.Child[] Batches { get; }

    public Counter.Child OkCounter { get; set; }

    public void Dispose()
    {
        Current?.Dispose();
        Shadow?.Dispose();
    }
}

/// <summary>
/// The served models of one scorer: which version of each is in service (taken from the registry between batches
/// only), what /readyz says about them, and under which model an ERROR prediction counts.
/// </summary>
internal sealed partial class ModelSlots : IDisposable
{
    private readonly Dictionary<string, ModelSlot> _slots = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ModelSlot> _byShadow = new(StringComparer.Ordinal);
    private readonly ModelRegistry _registry;
    private readonly ScorerMetrics _metrics;
    private readonly IReadinessGate _readiness;
    private readonly ILogger _logger;
    private int _publishedGeneration = -1;
    private bool _servingChanged = true;

    public ModelSlots(ScorerOptions options, ModelRegistry registry, ScorerMetrics metrics, IReadinessGate readiness, ILogger logger)
    {
        _registry = registry;
        _metrics = metrics;
        _readiness = readiness;
        _logger = logger;
        foreach (var name in options.Models)
        {
            var slot = new ModelSlot(name, options, metrics);
            _slots[name] = slot;
            if (slot.ShadowName is { } shadowName)
            {
                _byShadow[shadowName] = slot;
            }
        }

        foreach (var name in registry.AllNames)
        {
            metrics.ModelAvailable(name, available: false);
        }
    }

    public IReadOnlyCollection<ModelSlot> All => _slots.Values;

    public bool TryGet(string name, out ModelSlot slot) => _slots.TryGetValue(name, out slot!);

    /// <summary>Takes new model versions for every model whose batch is empty: swaps happen between batches only.</summary>
    public void AdoptOffered()
    {
        foreach (var slot in _slots.Values)
        {
            if (slot.Batcher.Count != 0)
            {
                continue;
            }

            if (_registry.TryTake(slot.Name, out var model))
            {
                Swap(slot, slot.Current, model, shadow: false);
                slot.Current = model;
            }

            if (slot.ShadowName is { } shadowName && _registry.TryTake(shadowName, out var shadowModel))
            {
                Swap(slot, slot.Shadow, shadowModel, shadow: true);
                slot.Shadow = shadowModel;
            }
        }
    }

    /// <summary>
    /// Puts one line per model into /readyz (serving which version; or unavailable, which version failed and why)
    /// whenever the registry's states or the versions in service have changed.
    /// </summary>
    public void PublishStates()
    {
        var generation = _registry.Generation;
        if (generation == _publishedGeneration && !_servingChanged)
        {
            return;
        }

        _publishedGeneration = generation;
        _servingChanged = false;
        var lines = new StringBuilder();
        foreach (var state in _registry.States)
        {
            var (label, serving) = _slots.TryGetValue(state.Name, out var slot)
                ? ($"model {state.Name}", slot.Current)
                : ($"shadow {state.Name} of {_byShadow[state.Name].Name}", _byShadow[state.Name].Shadow);
            var failure = state.FailedVersion is { } failed ? $"version {failed} failed to load: {state.Failure}" : state.Failure;
            lines.Append(label).Append(": ").Append((serving, state.Attempted, failure) switch
            {
                ({ } model, _, null) => $"serving version {model.Version}",
                ({ } model, _, _) => $"serving version {model.Version}; {failure}",
                (null, false, _) or (null, true, null) => "loading",
                (null, true, _) => $"unavailable: {failure}",
            }).Append('\n');
        }

        _readiness.SetDetails(lines.ToString());
    }

    /// <summary>Why a served model has no version in service, for its events' MODEL_UNAVAILABLE errors.</summary>
    public Rejection Unavailable(ModelSlot slot)
    {
        var state = _registry.StateOf(slot.Name);
        return new Rejection(ReasonCodes.ModelUnavailable, state.FailedVersion is { } failed
            ? $"Model {slot.Name} has no version in service: version {failed} failed to load: {state.Failure}"
            : $"Model {slot.Name} has no version in service: {state.Failure ?? "not loaded yet"}");
    }

    /// <summary>
    /// The model and version an ERROR prediction counts under: the version in service of a served model (or, for a
    /// model that failed to load, the version that failed); the unknown-model bucket for any other name.
    /// </summary>
    public (string Name, string Version, ServedModel? Model, bool Bucket) Attribute(FeatureEvent? featureEvent)
    {
        if (featureEvent is null || !Identifiers.IsValid(featureEvent.ModelName) || !_slots.TryGetValue(featureEvent.ModelName, out var slot))
        {
            return (Identifiers.UnknownModelBucket, Identifiers.UnknownModelBucket, null, true);
        }

        if (slot.Current is { } model)
        {
            return (model.Name, model.Version, model, false);
        }

        return (slot.Name, _registry.StateOf(slot.Name).FailedVersion ?? Identifiers.UnknownModelBucket, null, false);
    }

    public void Dispose()
    {
        foreach (var slot in _slots.Values)
        {
            slot.Dispose();
        }
    }

    private void Swap(ModelSlot slot, ServedModel? old, ServedModel next, bool shadow)
    {
        if (old is not null)
        {
            _metrics.ModelInService(old.Name, old.Version, old.Sha256, old.Session.ExecutionProvider, shadow, inService: false);
            _metrics.Swapped(next.Name);
            LogSwap(_logger, next.Name, old.Version, next.Version, next.Sha256);
            old.Dispose();
        }

        _metrics.ModelInService(next.Name, next.Version, next.Sha256, next.Session.ExecutionProvider, shadow, inService: true);
        _metrics.ModelAvailable(next.Name, available: true);
        _servingChanged = true;
        if (!shadow)
        {
            slot.OkCounter = _metrics.Predictions(next.Name, next.Version).Ok;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {Model} swapped from version {OldVersion} to {NewVersion} (sha256 {Sha256}) between batches")]
    private static partial void LogSwap(ILogger logger, string model, string oldVersion, string newVersion, string sha256);
}
