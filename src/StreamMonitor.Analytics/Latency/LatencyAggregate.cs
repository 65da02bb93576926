using StreamMonitor.Contracts;
using StreamMonitor.Contracts.State;

namespace StreamMonitor.Analytics.Latency;

/// <summary>
/// Traffic and latency of one model version in one pane or window: exact counts, batch-size moments, one
/// <see cref="LatencyHistogram"/> per timing stage (successful predictions only: an error's timing says little about
/// serving latency) and exact good counts per SLI threshold. Merging is exact.
/// </summary>
public sealed class LatencyAggregate : IMergeable<LatencyAggregate>, ILateCounting
{
    /// <summary>Names of the reported percentiles, as <see cref="StageLatency.UnboundedPercentiles"/> lists them.</summary>
    private static readonly string[] PercentileNames = ["p50", "p90", "p95", "p99", "p999"];

    /// <summary>Creates an empty aggregate for the given SLI thresholds (µs, ascending order not required).</summary>
    public LatencyAggregate(IReadOnlyList<long> sliThresholdsUs)
    {
        ArgumentNullException.ThrowIfNull(sliThresholdsUs);
        SliThresholdsUs = [.. sliThresholdsUs];
        SliGood = new long[SliThresholdsUs.Length];
        Stages = new LatencyHistogram[PredictionTiming.StageNames.Count];
        for (var i = 0; i < Stages.Length; i++)
        {
            Stages[i] = new LatencyHistogram();
        }
    }

    /// <summary>All predictions.</summary>
    public long Count { get; private set; }

    /// <summary>Predictions with status ERROR.</summary>
    public long ErrorCount { get; private set; }

    /// <summary>Late records observed while this window held the partition's stream time (see docs/aggregator.md).</summary>
    public long LateCount { get; set; }

    /// <summary>Sum of batch sizes of successful predictions.</summary>
    public long BatchSizeSum { get; private set; }

    /// <summary>Successful predictions that reported a batch size.</summary>
    public long BatchSizeCount { get; private set; }

    /// <summary>Largest batch size.</summary>
    public int BatchSizeMax { get; private set; }

    /// <summary>Histogram per stage, in <see cref="PredictionTiming.StageNames"/> order.</summary>
    public LatencyHistogram[] Stages { get; }

    /// <summary>SLI thresholds (µs).</summary>
    public long[] SliThresholdsUs { get; }

    /// <summary>Successful predictions with e2e ≤ threshold, per threshold.</summary>
    public long[] SliGood { get; }

    /// <summary>Total of every latency SLI: all predictions (an error is a bad event for a latency SLI too).</summary>
    public long SliTotal => Count;

    /// <summary>Adds one prediction.</summary>
    public void Add(Prediction prediction)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        Count++;
        if (prediction.Status == PredictionStatus.ERROR)
        {
            ErrorCount++;
            return;
        }

        var timing = prediction.Timing;
        for (var i = 0; i < Stages.Length; i++)
        {
            Stages[i].Record(timing.StageMicros(i));
        }

        if (timing.BatchSize > 0)
        {
            BatchSizeSum += timing.BatchSize;
            BatchSizeCount++;
            BatchSizeMax = Math.Max(BatchSizeMax, timing.BatchSize);
        }

        for (var i = 0; i < SliThresholdsUs.Length; i++)
        {
            if (timing.E2eUs <= SliThresholdsUs[i])
            {
                SliGood[i]++;
            }
        }
    }

    /// <inheritdoc />
    public void MergeFrom(LatencyAggregate other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (!other.SliThresholdsUs.AsSpan().SequenceEqual(SliThresholdsUs))
        {
            throw new InvalidOperationException("Cannot merge aggregates with different SLI thresholds.");
        }

        Count += other.Count;
        ErrorCount += other.ErrorCount;
        LateCount += other.LateCount;
        BatchSizeSum += other.BatchSizeSum;
        BatchSizeCount += other.BatchSizeCount;
        BatchSizeMax = Math.Max(BatchSizeMax, other.BatchSizeMax);
        for (var i = 0; i < Stages.Length; i++)
        {
            Stages[i].MergeFrom(other.Stages[i]);
        }

        for (var i = 0; i < SliGood.Length; i++)
        {
            SliGood[i] += other.SliGood[i];
        }
    }

    /// <summary>
    /// The binary format of checkpoints, changelogs and partial results (version 1): the counts, the SLI thresholds
    /// with their good counts, then each stage's histogram without its version byte (see <see cref="LatencyHistogram.Codec"/>).
    /// </summary>
    public static IStateCodec<LatencyAggregate> Codec { get; } = new Format();

    /// <summary>The window result for this (merged) aggregate.</summary>
    public LatencyWindowResult ToResult(WindowKey key, int partitions)
    {
        ReadOnlySpan<int> quantiles = [50_000, 90_000, 95_000, 99_000, 99_900];
        var result = key.Stamp(new LatencyWindowResult
        {
            Count = Count,
            ErrorCount = ErrorCount,
            ErrorRate = Count == 0 ? 0 : (double)ErrorCount / Count,
            ThroughputPerSecond = Count * 1000.0 / key.WindowSizeMs,
            BatchSizeMean = BatchSizeCount == 0 ? 0 : (double)BatchSizeSum / BatchSizeCount,
            BatchSizeMax = BatchSizeMax,
            RelativeError = LatencyHistogram.RelativeErrorBound,
            LateCount = LateCount,
            Partitions = partitions,
        });
        for (var i = 0; i < Stages.Length; i++)
        {
            var stage = Stages[i];
            var p = stage.Percentiles(quantiles);
            result.Stages.Add(new StageLatency
            {
                Stage = PredictionTiming.StageNames[i],
                Count = stage.Count,
                MeanUs = stage.Count == 0 ? 0 : stage.Mean,
                P50Us = p[0],
                P90Us = p[1],
                P95Us = p[2],
                P99Us = p[3],
                P999Us = p[4],
                MaxUs = stage.Count == 0 ? 0 : stage.Max,
                ClampedCount = stage.Clamped,
            });
            for (var q = 0; q < quantiles.Length; q++)
            {
                if (!stage.IsWithinBound(quantiles[q]))
                {
                    result.Stages[^1].UnboundedPercentiles.Add(PercentileNames[q]);
                }
            }
        }

        for (var i = 0; i < SliThresholdsUs.Length; i++)
        {
            result.LatencySlis.Add(new LatencySli { ThresholdUs = SliThresholdsUs[i], Good = SliGood[i], Total = SliTotal });
        }

        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer))
        {
            LatencyHistogram.Codec.Write(writer, Stages[^1]);
        }

        result.E2eHistogram = buffer.ToArray();
        return result;
    }

    private sealed class Format : IStateCodec<LatencyAggregate>
    {
        public byte Version => 1;

        public void Write(BinaryWriter writer, LatencyAggregate value)
        {
            ArgumentNullException.ThrowIfNull(writer);
            ArgumentNullException.ThrowIfNull(value);
            writer.Write(value.Count);
            writer.Write(value.ErrorCount);
            writer.Write(value.LateCount);
            writer.Write(value.BatchSizeSum);
            writer.Write(value.BatchSizeCount);
            writer.Write(value.BatchSizeMax);
            writer.Write(value.SliThresholdsUs.Length);
            for (var i = 0; i < value.SliThresholdsUs.Length; i++)
            {
                writer.Write(value.SliThresholdsUs[i]);
                writer.Write(value.SliGood[i]);
            }

            foreach (var stage in value.Stages)
            {
                LatencyHistogram.Codec.Write(writer, stage);
            }
        }

        public LatencyAggregate Read(BinaryReader reader, byte version)
        {
            ArgumentNullException.ThrowIfNull(reader);
            var count = reader.ReadInt64();
            var errors = reader.ReadInt64();
            var late = reader.ReadInt64();
            var batchSum = reader.ReadInt64();
            var batchCount = reader.ReadInt64();
            var batchMax = reader.ReadInt32();
            var slis = reader.ReadInt32();
            var thresholds = new long[slis];
            var good = new long[slis];
            for (var i = 0; i < slis; i++)
            {
                thresholds[i] = reader.ReadInt64();
                good[i] = reader.ReadInt64();
            }

            var result = new LatencyAggregate(thresholds)
            {
                Count = count,
                ErrorCount = errors,
                LateCount = late,
                BatchSizeSum = batchSum,
                BatchSizeCount = batchCount,
                BatchSizeMax = batchMax,
            };
            good.CopyTo(result.SliGood, 0);
            for (var i = 0; i < result.Stages.Length; i++)
            {
                // Version 1 aggregates hold histograms of either histogram version.
                result.Stages[i] = LatencyHistogram.ReadEmbedded(reader);
            }

            return result;
        }
    }
}
