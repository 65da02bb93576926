using System.Diagnostics;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using StreamMonitor.Contracts;
using StreamMonitor.Kafka;

namespace StreamMonitor.Traffic;

/// <summary>A consistent snapshot of a running generator.</summary>
public sealed record TrafficProgress(
    int PhaseIndex,
    string PhaseName,
    long FeaturesProduced,
    long LabelsProduced,
    long Delivered,
    long DeliveryErrors,
    long LastEventTimeMs,
    double WallSeconds,
    double PlannedWallSeconds);

/// <summary>
/// Produces a <see cref="TrafficPlan"/> to Kafka at its wall-clock pace: feature events to the features topic and labels
/// to the labels topic, keyed by event id. The message timestamp is left to the producer (wall clock, as a real client
/// would stamp it): the scorer measures its Kafka queue time from it, and demo event times are compressed, so they
/// cannot double as broker timestamps. Replay finds event-time ranges by the records' own times instead. A hook runs at the start of every phase (the demo hot-loads a slower model there)
/// and is awaited before the phase's first event.
/// </summary>
public sealed class TrafficRunner
{
    private readonly TrafficPlan _plan;
    private readonly KafkaOptions _kafka;
    private readonly ILogger _logger;
    private readonly EventCodec _codec = new();
    private long _features;
    private long _labels;
    private long _delivered;
    private long _errors;
    private long _lastEventTime;
    private int _phase;
    private readonly Stopwatch _clock = new();

    /// <summary>Creates a runner; nothing is produced until <see cref="RunAsync"/>.</summary>
    public TrafficRunner(TrafficPlan plan, KafkaOptions kafka, ILogger<TrafficRunner> logger)
    {
        _plan = plan ?? throw new ArgumentNullException(nameof(plan));
        _kafka = kafka ?? throw new ArgumentNullException(nameof(kafka));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
    }

    /// <summary>The schedule being produced.</summary>
    public TrafficPlan Plan => _plan;

    /// <summary>Where the run is now; safe to call from another thread.</summary>
    public TrafficProgress Progress
    {
        get
        {
            var phase = Math.Min(Volatile.Read(ref _phase), _plan.Phases.Count - 1);
            return new TrafficProgress(
                phase,
                _plan.Phases[phase].Name,
                Interlocked.Read(ref _features),
                Interlocked.Read(ref _labels),
                Interlocked.Read(ref _delivered),
                Interlocked.Read(ref _errors),
                Interlocked.Read(ref _lastEventTime),
                _clock.Elapsed.TotalSeconds,
                _plan.Phases[^1].EndWallSeconds);
        }
    }

    /// <summary>
    /// Produces every record of the plan, pacing by the wall clock, and flushes. Returns the totals; delivery errors
    /// are counted (and logged), never hidden.
    /// </summary>
    public async Task<TrafficTotals> RunAsync(Func<TrafficPhase, CancellationToken, Task>? onPhaseStart, CancellationToken cancellationToken)
    {
        var config = KafkaClientConfig.Producer(_kafka, "streammon-traffic");
        config.LingerMs = 20;
        using var producer = new ProducerBuilder<string, byte[]>(config)
            .SetErrorHandler((_, e) => _logger.LogWarning("Kafka producer error {Code}: {Reason}", e.Code, e.Reason))
            .Build();
        var topics = _kafka.Topics;
        var totals = new TrafficTotals();
        var startedPhase = -1;
        _clock.Restart();
        void OnDelivery(DeliveryReport<string, byte[]> report)
        {
            if (report.Error.IsError)
            {
                Interlocked.Increment(ref _errors);
                _logger.LogError("Delivery of {Key} to {Topic} failed: {Reason}", report.Message.Key, report.Topic, report.Error.Reason);
            }
            else
            {
                Interlocked.Increment(ref _delivered);
            }
        }

        foreach (var record in _plan.Records(totals))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (record.PhaseIndex != startedPhase)
            {
                startedPhase = record.PhaseIndex;
                Volatile.Write(ref _phase, startedPhase);
                var phase = _plan.Phases[startedPhase];
                _logger.LogInformation("Traffic phase {Phase} ({Kind}) starts at event time {EventTime:o}", phase.Name, phase.Kind, DateTimeOffset.FromUnixTimeMilliseconds(phase.StartEventTimeMs));
                if (onPhaseStart is not null)
                {
                    await onPhaseStart(phase, cancellationToken);
                }
            }

            var ahead = record.WallOffsetMs - _clock.Elapsed.TotalMilliseconds;
            if (ahead >= 2)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(ahead), cancellationToken);
            }

            var topic = record.Feature is not null ? topics.Features : topics.Labels;
            var value = record.Feature is not null ? _codec.Serialize(record.Feature) : _codec.Serialize(record.Label!);
            var message = new Message<string, byte[]>
            {
                Key = record.Key,
                Value = value,
            };
            await ProduceAsync(producer, topic, message, OnDelivery, cancellationToken);
            if (record.Feature is not null)
            {
                Interlocked.Increment(ref _features);
                Interlocked.Exchange(ref _lastEventTime, record.Feature.EventTimeMs);
            }
            else
            {
                Interlocked.Increment(ref _labels);
            }
        }

        while (producer.Flush(TimeSpan.FromMilliseconds(200)) > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            await Task.Yield();
        }

        _clock.Stop();
        return totals;
    }

    private static async Task ProduceAsync(IProducer<string, byte[]> producer, string topic, Message<string, byte[]> message, Action<DeliveryReport<string, byte[]>> onDelivery, CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                producer.Produce(topic, message, onDelivery);
                return;
            }
            catch (ProduceException<string, byte[]> ex) when (ex.Error.Code == ErrorCode.Local_QueueFull)
            {
                // The local queue is bounded: wait for deliveries instead of growing memory.
                producer.Flush(TimeSpan.FromMilliseconds(50));
                await Task.Yield();
                cancellationToken.ThrowIfCancellationRequested();
            }
        }
    }
}
