using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using StreamMonitor.Contracts;
using StreamMonitor.Contracts.Validation;
using StreamMonitor.Models.Inference;

namespace StreamMonitor.Scorer;

/// <summary>Scorer settings (configuration section "Scorer"; environment variables Scorer__BatchSize etc.).</summary>
public sealed class ScorerOptions : IValidatableObject
{
    /// <summary>Configuration section name.</summary>
    public const string SectionName = "Scorer";

    /// <summary>Model store root (models/&lt;name&gt;/&lt;version&gt;/{model.onnx, model.json}).</summary>
    [Required(AllowEmptyStrings = false)]
    public string ModelStorePath { get; set; } = "";

    /// <summary>Models served; each event names one in FeatureEvent.model_name. The newest version of each is loaded.</summary>
    [MinLength(1)]
    public List<string> Models { get; set; } = [];

    /// <summary>Optional shadow model per served model (served name → shadow name); its predictions go to the shadow topic.</summary>
    public Dictionary<string, string> Shadows { get; set; } = [];

    /// <summary>Largest micro-batch in rows; a full batch is dispatched at once.</summary>
    [Range(1, 4096)]
    public int BatchSize { get; set; } = 64;

    /// <summary>Longest time the first row of a batch waits before a partial batch is dispatched.</summary>
    [DurationRange("0s", "10s"), RenamedFrom("QueueDelayMs", "ms")]
    public TimeSpan QueueDelay { get; set; } = TimeSpan.FromMilliseconds(5);

    /// <summary>
    /// Dispatch a partial batch at once when no further record is waiting in the consumer (natural batching): rows only
    /// batch up while the engine is busy, and the queue delay is a cap, not a floor. Off: every partial batch waits the
    /// full delay, which trades latency at light load for fewer, larger batches.
    /// </summary>
    public bool DispatchWhenIdle { get; set; } = true;

    /// <summary>
    /// auto, cpu or cuda, resolved once at start-up: auto runs on CUDA when its provider can be created on
    /// <see cref="CudaDeviceId"/>, else on CPU with the reason logged; cuda that cannot run stops the scorer at
    /// start-up with the reason (a configuration error, not a degraded mode).
    /// </summary>
    public ExecutionProviderChoice ExecutionProvider { get; set; } = ExecutionProviderChoice.Auto;

    /// <summary>CUDA device id for auto and cuda (the ordinal among the devices visible to the process).</summary>
    [Range(0, 1024)]
    public int CudaDeviceId { get; set; }

    /// <summary>ONNX Runtime intra-op threads (0: one per physical core available to the process).</summary>
    [Range(0, 256)]
    public int IntraOpThreads { get; set; }

    /// <summary>ONNX Runtime inter-op threads.</summary>
    [Range(0, 256)]
    public int InterOpThreads { get; set; } = 1;

    /// <summary>Let idle ONNX Runtime threads spin (burns cores; off by default).</summary>
    public bool AllowSpinning { get; set; }

    /// <summary>Null, NaN and infinite feature values: Reject (error + dead letter) or ImputeMean.</summary>
    public NonFinitePolicy NonFinitePolicy { get; set; } = NonFinitePolicy.Reject;

    /// <summary>Whether numeric features unknown to the model are an error.</summary>
    public bool RejectExtraFeatures { get; set; } = true;

    /// <summary>Consumer group: more instances in the group share the partitions.</summary>
    [Required(AllowEmptyStrings = false)]
    public string ConsumerGroup { get; set; } = "streammon-scorer";

    /// <summary>Instance id written into every prediction and used as the Kafka client id; defaults to the host's InstanceId.</summary>
    public string InstanceId { get; set; } = "";

    /// <summary>
    /// Longest time a fetch may wait for data at the broker (librdkafka fetch.wait.max.ms, default there 500 ms).
    /// Brokers that hold a fetch for the full wait (librdkafka's mock cluster does) would otherwise add up to that
    /// much queueing to a trickle of events; a Kafka:Client setting of fetch.wait.max.ms takes precedence.
    /// </summary>
    [DurationRange("1ms", "10s"), RenamedFrom("FetchWaitMaxMs", "ms")]
    public TimeSpan FetchWaitMax { get; set; } = TimeSpan.FromMilliseconds(10);

    /// <summary>How often the store is checked for new versions.</summary>
    [DurationRange("50ms", "1m"), RenamedFrom("ReloadPollMs", "ms")]
    public TimeSpan ReloadPoll { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How often acknowledged offsets are committed.</summary>
    [DurationRange("10ms", "1m"), RenamedFrom("CommitIntervalMs", "ms")]
    public TimeSpan CommitInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Which event times are plausible, judged against each record's Kafka timestamp (Scorer:EventTime:MaxAhead etc.).</summary>
    [ValidateObjectMembers]
    public EventTimeOptions EventTime { get; set; } = new();

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Models.Any(string.IsNullOrWhiteSpace) || Models.Distinct(StringComparer.Ordinal).Count() != Models.Count)
        {
            yield return new ValidationResult("Model names must be non-empty and distinct.", [nameof(Models)]);
        }

        foreach (var name in Models.Concat(Shadows.Values).Where(n => !string.IsNullOrWhiteSpace(n)))
        {
            if (Identifiers.Check("model name", name) is { } invalid)
            {
                yield return new ValidationResult($"'{Identifiers.Printable(name)}' is not a valid model name: {invalid.Detail}", [nameof(Models)]);
            }
            else if (string.Equals(name, Identifiers.UnknownModelBucket, StringComparison.Ordinal))
            {
                yield return new ValidationResult($"'{Identifiers.UnknownModelBucket}' is reserved for the errors of unknown models.", [nameof(Models)]);
            }
        }

        foreach (var (served, shadow) in Shadows)
        {
            if (!Models.Contains(served, StringComparer.Ordinal))
            {
                yield return new ValidationResult($"Shadow configured for '{served}', which is not a served model.", [nameof(Shadows)]);
            }

            if (string.IsNullOrWhiteSpace(shadow) || Models.Contains(shadow, StringComparer.Ordinal))
            {
                yield return new ValidationResult($"The shadow of '{served}' must be a model that is not itself served.", [nameof(Shadows)]);
            }
        }

        if (Shadows.Values.Distinct(StringComparer.Ordinal).Count() != Shadows.Count)
        {
            yield return new ValidationResult("Each shadow model can shadow one served model only.", [nameof(Shadows)]);
        }
    }
}
