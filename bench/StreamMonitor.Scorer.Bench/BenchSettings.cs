using System.Globalization;
using StreamMonitor.Models.Inference;

/// <summary>Benchmark parameters from the command line.</summary>
internal sealed record BenchSettings(int[] Hidden, int Epochs, double RawSeconds, int BackfillRows, int BackfillBatch, int WarmupRounds, int Rounds, int BatchesInFlight, int[] Rates, int Seconds, int Batch,
    int QueueDelayMs, int IntraOpThreads, int StreamIntraOpThreads, ExecutionProviderChoice Provider, int CudaDevice, bool DecodeEvents)
{
    /// <summary>Session settings for the raw and backfill figures, on the provider asked for.</summary>
    public SessionSettings Session(int maxBatchRows) => new() { MaxBatchRows = maxBatchRows, Provider = Provider, DeviceId = CudaDevice, IntraOpThreads = IntraOpThreads };

    public static BenchSettings Parse(string[] args)
    {
        string Get(string name, string fallback)
        {
            var i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
        }

        int Int(string name, int fallback) => int.Parse(Get(name, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
        return new BenchSettings(
            Get("--hidden", "1024,1024,1024").Split(',').Select(w => int.Parse(w, CultureInfo.InvariantCulture)).ToArray(),
            Int("--epochs", 1),
            double.Parse(Get("--raw-seconds", "3"), CultureInfo.InvariantCulture),
            Int("--backfill-rows", 30_000),
            Int("--backfill-batch", 256),
            Int("--warmup-rounds", 6),
            Int("--rounds", 3),
            Int("--batches-in-flight", 2),
            Get("--rate", "300") is "none" ? [] : Get("--rate", "300").Split(',').Select(r => int.Parse(r, CultureInfo.InvariantCulture)).ToArray(),
            Int("--seconds", 15),
            Int("--batch", 64),
            Int("--queue-delay-ms", 5),
            Int("--intra-op-threads", 0),
            Int("--stream-intra-op-threads", 0),
            Enum.Parse<ExecutionProviderChoice>(Get("--execution-provider", "auto"), ignoreCase: true),
            Int("--cuda-device", 0),
            args.Contains("--decode-events"));
    }
}
