using System.Diagnostics;
using System.Globalization;
using StreamMonitor.Influx;
using StreamMonitor.Influx.Local;

// InfluxDB writer benchmark. Prints points/s of each configuration and its ratio against the baseline (one point
// per /write request, no gzip); asserts nothing. Usage:
//   dotnet run -c Release --project bench/StreamMonitor.Influx.Bench [-- --points 200000 --baseline-points 2000]
var points = ArgValue(args, "--points", 200_000);
var baselinePoints = ArgValue(args, "--baseline-points", 2_000);
var c = CultureInfo.InvariantCulture;

await using var server = await LocalInfluxd.StartAsync(new LocalInfluxdOptions { Database = null });
Console.WriteLine($"influxd on {server.Url}; {Environment.ProcessorCount} cores; points shaped like latency_stage (6 tags, 8 fields)");

double baseline = 0;
baseline = await RunAsync("baseline: 1 point per request, no gzip", baselinePoints, o => { o.BatchSize = 1; o.Gzip = false; });
await RunAsync("batch 5000, no gzip", points, o => { o.BatchSize = 5000; o.Gzip = false; });
await RunAsync("batch 5000, gzip (default)", points, o => { o.BatchSize = 5000; o.Gzip = true; });
await RunAsync("batch 500, gzip", points, o => { o.BatchSize = 500; o.Gzip = true; });

async Task<double> RunAsync(string name, int count, Action<InfluxOptions> configure)
{
    var options = server.CreateOptions("bench_" + Guid.NewGuid().ToString("N"));
    configure(options);
    using (var admin = new InfluxQueryClient(options))
    {
        await admin.CreateDatabaseAsync();
    }

    var sw = Stopwatch.StartNew();
    await using (var writer = new InfluxWriter(options))
    {
        for (var i = 0; i < count; i++)
        {
            await writer.WriteAsync(Point(i));
        }

        await writer.FlushAsync();
    }

    var rate = count / sw.Elapsed.TotalSeconds;
    using var query = new InfluxQueryClient(options);
    var stored = (await query.QueryAsync("SELECT count(p50_us) FROM latency_stage")).Single().GetInt64(0, "count");
    Console.WriteLine(string.Create(c, $"{name,-42} {count,8} points in {sw.Elapsed.TotalSeconds,6:F2} s = {rate,9:F0} points/s; stored {stored}{(baseline > 0 ? $"; x{rate / baseline:F1} vs baseline" : "")}"));
    await query.DropDatabaseAsync();
    return rate;
}

static LinePoint Point(int i) => LinePoint.Measurement("latency_stage")
    .Tag("model", "breast_cancer").Tag("version", "3").Tag("window", "10s")
    .Tag("stage", (i % 6) switch { 0 => "kafka_queue", 1 => "decode", 2 => "batch_wait", 3 => "inference", 4 => "encode", _ => "e2e" })
    .Tag("instance", "scorer-" + (i / 6 % 4).ToString(CultureInfo.InvariantCulture)).Tag("partition", (i / 24 % 8).ToString(CultureInfo.InvariantCulture))
    .Field("count", (long)(1000 + i % 97)).Field("mean_us", 812.5 + i % 13).Field("p50_us", 700.0).Field("p90_us", 1200.25)
    .Field("p95_us", 1500.0).Field("p99_us", 2500.75).Field("p999_us", 4100.0).Field("max_us", 9000.0)
    .Timestamp(1_700_000_000_000_000_000L + (long)(i / 192) * 10_000_000_000L);

static int ArgValue(string[] args, string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}
