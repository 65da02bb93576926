using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Prometheus;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.Validation;
using StreamMonitor.Hosting;
using StreamMonitor.Models.Inference;

namespace StreamMonitor.Scorer;

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

    /// <summary>
    /// Waits until every model has been looked for in the store (so no model's events are refused only because its
    /// load had not finished yet) and at least one served model has a version in service.
    /// </summary>
    public void WaitUntilServing(CancellationToken stoppingToken)
    {
        _readiness.MarkNotReady("loading models");
        while (!stoppingToken.IsCancellationRequested)
        {
            // Read first: every version offered before it reads true is adopted just below.
            var attempted = _registry.AllAttempted;
            AdoptOffered();
            PublishStates();
            if (attempted && All.Any(s => s.Current is not null))
            {
                var unavailable = All.Where(s => s.Current is null).Select(s => s.Name).ToArray();
                if (unavailable.Length > 0)
                {
                    LogStartingWithout(_logger, string.Join(",", unavailable));
                }

                return;
            }

            _readiness.MarkNotReady(attempted ? "no served model has a version that loads" : "loading models");
            stoppingToken.WaitHandle.WaitOne(100);
        }
    }

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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Scorer starts without models {Models}: no version of them loads; their events get MODEL_UNAVAILABLE errors until one does")]
    private static partial void LogStartingWithout(ILogger logger, string models);

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {Model} swapped from version {OldVersion} to {NewVersion} (sha256 {Sha256}) between batches")]
    private static partial void LogSwap(ILogger logger, string model, string oldVersion, string newVersion, string sha256);
}
