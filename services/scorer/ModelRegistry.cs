using Microsoft.Extensions.Logging;
using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using StreamMonitor.Models.Inference;
using StreamMonitor.Models.Store;

namespace StreamMonitor.Scorer;

/// <summary>A model version loaded, warmed up and ready to run, with the validator for its features.</summary>
public sealed class ServedModel(ModelSession session, FeatureValidator validator) : IDisposable
{
    /// <summary>The ONNX Runtime session with its pinned buffers.</summary>
    public ModelSession Session { get; } = session;

    /// <summary>Feature checks and tensor filling for this version.</summary>
    public FeatureValidator Validator { get; } = validator;

    /// <summary>Model name.</summary>
    public string Name => Session.Model.Manifest.Name;

    /// <summary>Version.</summary>
    public string Version => Session.Model.Manifest.Version;

    /// <summary>SHA-256 of the model.onnx bytes that run.</summary>
    public string Sha256 => Session.Model.Sha256;

    /// <inheritdoc />
    public void Dispose() => Session.Dispose();
}

/// <summary>
/// Finds new model versions in the store, loads and warms them up off the scoring thread, and offers them to the
/// scoring loop, which takes an offered version only between batches: that is what makes a swap atomic with
/// respect to the stream. A version that fails to load is logged, counted and skipped; the old one keeps serving.
/// </summary>
public sealed class ModelRegistry : IDisposable
{
    private readonly ScorerOptions _options;
    private readonly ILogger<ModelRegistry> _logger;
    private readonly ScorerMetrics _metrics;
    private readonly ModelStore _store;
    private readonly SessionSettings _settings;
    private readonly ConcurrentDictionary<string, ServedModel> _offered = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _seen = new(StringComparer.Ordinal);
    private readonly Lock _pollGate = new();

    /// <summary>Creates the registry.</summary>
    public ModelRegistry(IOptions<ScorerOptions> options, ILogger<ModelRegistry> logger, ScorerMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        _logger = logger;
        _metrics = metrics;
        _store = new ModelStore(_options.ModelStorePath);
        _settings = new SessionSettings
        {
            MaxBatchRows = _options.BatchSize,
            Provider = _options.ExecutionProvider,
            IntraOpThreads = _options.IntraOpThreads,
            InterOpThreads = _options.InterOpThreads,
            AllowSpinning = _options.AllowSpinning,
        };
        AllNames = _options.Models.Concat(_options.Shadows.Values).Distinct(StringComparer.Ordinal).ToArray();
    }

    /// <summary>Every model the scorer runs: served ones and shadows.</summary>
    public IReadOnlyList<string> AllNames { get; }

    /// <summary>Checks the store once; loads and offers every version newer than the last one seen.</summary>
    public void Poll()
    {
        lock (_pollGate)
        {
            foreach (var name in AllNames)
            {
                string? latest;
                try
                {
                    latest = _store.LatestVersion(name);
                }
                catch (IOException ex)
                {
                    _logger.LogWarning(ex, "Could not list versions of {Model} in {Store}", name, _store.Root);
                    continue;
                }

                if (latest is null || (_seen.TryGetValue(name, out var seen) && ModelStore.VersionComparer.Instance.Compare(latest, seen) <= 0))
                {
                    continue;
                }

                _seen[name] = latest;
                var served = Load(name, latest);
                if (served is null)
                {
                    continue;
                }

                if (_offered.TryRemove(name, out var superseded))
                {
                    superseded.Dispose(); // Never taken by the loop: a newer version arrived first.
                }

                _offered[name] = served;
            }
        }
    }

    /// <summary>Takes the version offered for <paramref name="name"/>, if any; the caller owns it from then on.</summary>
    public bool TryTake(string name, out ServedModel model)
    {
        if (_offered.TryRemove(name, out var offered))
        {
            model = offered;
            return true;
        }

        model = null!;
        return false;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var name in _offered.Keys)
        {
            if (_offered.TryRemove(name, out var model))
            {
                model.Dispose();
            }
        }
    }

    private ServedModel? Load(string name, string version)
    {
        ModelSession? session = null;
        try
        {
            var stored = _store.Load(name, version);
            session = ModelSession.Create(stored, _settings, _logger);
            if (!session.WarmUp())
            {
                throw new InvalidDataException("warm-up produced non-finite outputs");
            }

            _logger.LogInformation("Loaded {Model} version {Version} (sha256 {Sha256}) on {Provider}, warmed up at batch 1 and {MaxBatch}",
                name, version, stored.Sha256, session.ExecutionProvider, session.MaxBatchRows);
            return new ServedModel(session, new FeatureValidator(stored.Manifest, _options.NonFinitePolicy, _options.RejectExtraFeatures));
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or System.Text.Json.JsonException or Microsoft.ML.OnnxRuntime.OnnxRuntimeException or UnauthorizedAccessException)
        {
            session?.Dispose();
            _metrics.LoadFailed(name);
            _logger.LogError(ex, "Model {Model} version {Version} could not be loaded; the version in service (if any) keeps serving", name, version);
            return null;
        }
    }
}
