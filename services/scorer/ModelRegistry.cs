using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
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

/// <summary>What the registry knows about one model: the version it last loaded and the last failure, if any.</summary>
/// <param name="Name">Model name.</param>
/// <param name="Attempted">Whether the store has been checked for the model at least once.</param>
/// <param name="LoadedVersion">The newest version loaded successfully (null: none yet).</param>
/// <param name="FailedVersion">The version whose load failed last, while no newer version has loaded (null: none).</param>
/// <param name="Failure">Why <paramref name="FailedVersion"/> failed, or why there is nothing to load; one line.</param>
public sealed record ModelLoadState(string Name, bool Attempted, string? LoadedVersion, string? FailedVersion, string? Failure);

/// <summary>
/// Finds new model versions in the store, loads and warms them up off the scoring thread, and offers them to the
/// scoring loop, which takes an offered version only between batches: that is what makes a swap atomic with
/// respect to the stream. A version that fails to load (any exception: a bad manifest, an ONNX graph ONNX Runtime
/// refuses, a signature it cannot serve, a warm-up that fails) is logged, counted and recorded in
/// <see cref="States"/>; it never blocks the other models, and the version in service (if any) keeps serving. A
/// failed version is loaded again when its folder changes (a fixed model.onnx or model.json dropped in place) or
/// when a newer version appears.
/// </summary>
public sealed class ModelRegistry : IDisposable
{
    /// <summary>Longest failure reason kept for /readyz and the state (the full exception is in the log).</summary>
    private const int MaxReasonLength = 400;

    private readonly ScorerOptions _options;
    private readonly ILogger<ModelRegistry> _logger;
    private readonly ScorerMetrics _metrics;
    private readonly ModelStore _store;
    private readonly SessionSettings _settings;
    private readonly ConcurrentDictionary<string, ServedModel> _offered = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Attempt> _seen = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ModelLoadState> _states = new(StringComparer.Ordinal);
    private readonly Lock _pollGate = new();
    private int _generation;

    /// <summary>Creates the registry and resolves the execution provider every version will run on.</summary>
    /// <exception cref="ExecutionProviderUnavailableException">ExecutionProvider=cuda and CUDA cannot run: the scorer must not start.</exception>
    public ModelRegistry(IOptions<ScorerOptions> options, ILogger<ModelRegistry> logger, ScorerMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        _logger = logger;
        _metrics = metrics;
        _store = new ModelStore(_options.ModelStorePath);
        // Resolved once, so that auto's fallback is logged once, not per version loaded.
        var provider = ExecutionProviders.Resolve(_options.ExecutionProvider, _options.CudaDeviceId, logger);
        _settings = new SessionSettings
        {
            MaxBatchRows = _options.BatchSize,
            // auto stays auto on CUDA: a session that CUDA cannot create then falls back to CPU (logged) rather than failing.
            Provider = provider.IsCuda ? _options.ExecutionProvider : ExecutionProviderChoice.Cpu,
            DeviceId = provider.DeviceId,
            IntraOpThreads = _options.IntraOpThreads,
            InterOpThreads = _options.InterOpThreads,
            AllowSpinning = _options.AllowSpinning,
        };
        AllNames = _options.Models.Concat(_options.Shadows.Values).Distinct(StringComparer.Ordinal).ToArray();
        foreach (var name in AllNames)
        {
            _states[name] = new ModelLoadState(name, Attempted: false, null, null, null);
        }
    }

    /// <summary>Every model the scorer runs: served ones and shadows.</summary>
    public IReadOnlyList<string> AllNames { get; }

    /// <summary>Changes whenever a state in <see cref="States"/> changes, so a reader can tell cheaply whether to look again.</summary>
    public int Generation => Volatile.Read(ref _generation);

    /// <summary>Whether every model has been looked for in the store at least once (loaded, failed or absent).</summary>
    public bool AllAttempted => AllNames.All(n => _states[n].Attempted);

    /// <summary>The state of every model, in <see cref="AllNames"/> order.</summary>
    public IReadOnlyList<ModelLoadState> States => AllNames.Select(n => _states[n]).ToArray();

    /// <summary>The state of one model of <see cref="AllNames"/>.</summary>
    public ModelLoadState StateOf(string name) => _states[name];

    /// <summary>
    /// Checks the store once; loads and offers every version newer than the last one seen, and loads a failed
    /// version again when its folder has changed since the failed attempt.
    /// </summary>
    public void Poll()
    {
        lock (_pollGate)
        {
            foreach (var name in AllNames)
            {
                string? latest;
                FolderStamp stamp;
                try
                {
                    latest = _store.LatestVersion(name);
                    stamp = latest is null ? default : FolderStamp.Of(_store.VersionDirectory(name, latest));
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    _logger.LogWarning(ex, "Could not list versions of {Model} in {Store}", name, _store.Root);
                    continue;
                }

                if (latest is null)
                {
                    if (_states[name] is { Attempted: false } or { LoadedVersion: null, FailedVersion: not null })
                    {
                        Update(_states[name] with { Attempted = true, FailedVersion = null, Failure = $"no complete version (model.onnx and model.json) in {Path.Combine(_store.Root, name)}" });
                    }

                    continue;
                }

                if (_seen.TryGetValue(name, out var seen) && !IsNewAttempt(seen, latest, stamp))
                {
                    continue;
                }

                var served = Load(name, latest);
                _seen[name] = new Attempt(latest, stamp, Failed: served is null);
                if (served is null)
                {
                    continue;
                }

                if (_offered.TryRemove(name, out var superseded))
                {
                    superseded.Dispose(); // Never taken by the loop: a newer version arrived first.
                }

                _offered[name] = served;
                Update(_states[name] with { Attempted = true, LoadedVersion = latest, FailedVersion = null, Failure = null });
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

    /// <summary>A newer version is always tried; the same version again only if it failed and its folder changed since.</summary>
    private static bool IsNewAttempt(Attempt seen, string latest, FolderStamp stamp)
    {
        var order = ModelStore.VersionComparer.Instance.Compare(latest, seen.Version);
        return order > 0 || (order == 0 && seen.Failed && stamp != seen.Stamp);
    }

    private void Update(ModelLoadState state)
    {
        _states[state.Name] = state;
        Interlocked.Increment(ref _generation);
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
#pragma warning disable CA1031 // Whatever a model file makes the loader or ONNX Runtime throw, the other models must go on serving.
        catch (Exception ex) when (ex is not OutOfMemoryException)
#pragma warning restore CA1031
        {
            session?.Dispose();
            var reason = OneLine($"{ex.GetType().Name}: {ex.Message}");
            _metrics.LoadFailed(name);
            Update(_states[name] with { Attempted = true, FailedVersion = version, Failure = reason });
            _logger.LogError(ex, "Model {Model} version {Version} could not be loaded ({Reason}); {InService}; retried when its folder changes or a newer version appears",
                name, version, reason, _states[name].LoadedVersion is { } loaded ? $"version {loaded} keeps serving" : "its events get MODEL_UNAVAILABLE errors");
            return null;
        }
    }

    /// <summary>The reason on one line (ONNX Runtime's messages span several), cut to <see cref="MaxReasonLength"/>.</summary>
    private static string OneLine(string text)
    {
        var line = string.Join(' ', text.Split(['\r', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        return line.Length <= MaxReasonLength ? line : line[..MaxReasonLength] + "…";
    }

    /// <summary>The last attempt at a model: the version, its folder's stamp then, and whether it failed.</summary>
    private sealed record Attempt(string Version, FolderStamp Stamp, bool Failed);

    /// <summary>
    /// Identifies the contents of a version folder without reading them: sizes and write times of its two files.
    /// The store writes a version by renaming a fresh folder into place, so a replaced version has new write times.
    /// </summary>
    private readonly record struct FolderStamp(long OnnxLength, DateTime OnnxWritten, long ManifestLength, DateTime ManifestWritten)
    {
        public static FolderStamp Of(string folder)
        {
            var onnx = new FileInfo(Path.Combine(folder, ModelStore.OnnxFileName));
            var manifest = new FileInfo(Path.Combine(folder, ModelStore.ManifestFileName));
            return new FolderStamp(onnx.Exists ? onnx.Length : -1, onnx.LastWriteTimeUtc, manifest.Exists ? manifest.Length : -1, manifest.LastWriteTimeUtc);
        }
    }
}
