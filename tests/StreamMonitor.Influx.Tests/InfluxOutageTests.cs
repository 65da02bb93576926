using StreamMonitor.Influx;
using StreamMonitor.Influx.Local;
using StreamMonitor.Testing;

namespace StreamMonitor.Influx.Tests;

/// <summary>
/// The writer while influxd is stopped and started again on the same port and data directory; a <see cref="DownServer"/>
/// holds the port meanwhile, so no other test's influxd can be given it and answer for the stopped one.
/// </summary>
public sealed class InfluxOutageTests
{
    private static InfluxOptions FastRetries(InfluxOptions options)
    {
        options.FlushInterval = TimeSpan.FromMilliseconds(20);
        options.RetryInitialDelay = TimeSpan.FromMilliseconds(20);
        options.RetryMaxDelay = TimeSpan.FromMilliseconds(200);
        options.RequestTimeout = TimeSpan.FromSeconds(2);
        return options;
    }

    [Fact]
    public async Task Points_written_while_influxd_is_down_all_arrive_once_it_is_back()
    {
        await using var server = await LocalInfluxd.StartAsync(new LocalInfluxdOptions { Database = "outage" });
        var options = FastRetries(server.CreateOptions());
        options.BatchSize = 100;
        const int Total = 3000;
        await using var writer = new InfluxWriter(options);
        DownServer? down = null;

        for (var i = 0; i < Total; i++)
        {
            if (i == 1000)
            {
                await server.StopAsync();
                down = await DownServer.HoldAsync(server.Port);
            }

            if (i == 2000)
            {
                // Let the writer hit the dead server a few times before it comes back.
                await Task.Delay(300);
                await down!.DisposeAsync();
                await server.StartAgainAsync();
            }

            if (i == 2500)
            {
                await server.RestartAsync();
            }

            await writer.WriteAsync(LinePoint.Measurement("latency_window").Tag("model", "m").Field("count", (long)i).Timestamp(i * 1_000_000L));
        }

        await writer.FlushAsync().WaitAsync(TimeSpan.FromSeconds(60));
        var stats = writer.Statistics;
        Assert.True(stats.Retries > 0, "the writer never saw the outage");
        Assert.Equal((Total, Total, 0L, 0L, 0L), (stats.Accepted, stats.Written, stats.Rejected, stats.Failed, stats.Pending));

        using var query = new InfluxQueryClient(options);
        var series = Assert.Single(await query.QueryAsync("SELECT count(\"count\"), sum(\"count\") FROM latency_window"));
        Assert.Equal(Total, series.GetInt64(0, "count"));
        Assert.Equal((long)Total * (Total - 1) / 2, series.GetInt64(0, "sum"));
    }

    [Fact]
    public async Task A_full_buffer_makes_WriteAsync_wait_without_growing_or_dropping()
    {
        await using var server = await LocalInfluxd.StartAsync(new LocalInfluxdOptions { Database = "backpressure" });
        var options = FastRetries(server.CreateOptions());
        const int Capacity = 50;
        const int BatchSize = 10;
        options.BufferCapacity = Capacity;
        options.BatchSize = BatchSize;
        await server.StopAsync();
        var down = await DownServer.HoldAsync(server.Port);
        await using var writer = new InfluxWriter(options);

        // Write until a WriteAsync stays pending: the buffer (Capacity) plus at most one batch taken out for sending.
        var written = 0;
        Task blocked = Task.CompletedTask;
        for (; written <= Capacity + BatchSize; written++)
        {
            var write = writer.WriteAsync(Point(written)).AsTask();
            if (await Task.WhenAny(write, Task.Delay(1000)) != write)
            {
                blocked = write;
                break;
            }
        }

        Assert.False(blocked.IsCompleted, $"{written} writes completed with the server down and capacity {Capacity}");
        Assert.InRange(written, Capacity, Capacity + BatchSize);
        await Task.Delay(500);
        Assert.False(blocked.IsCompleted);
        var stats = writer.Statistics;
        Assert.Equal((written, 0L, 0L, (long)written), (stats.Accepted, stats.Written, stats.Failed, stats.Pending));
        Assert.True(stats.Retries > 0);

        await down.DisposeAsync();
        await server.StartAgainAsync();
        await blocked.WaitAsync(TimeSpan.FromSeconds(30));
        written++;
        for (; written < 200; written++)
        {
            await writer.WriteAsync(Point(written));
        }

        await writer.FlushAsync().WaitAsync(TimeSpan.FromSeconds(30));
        using var query = new InfluxQueryClient(options);
        var series = Assert.Single(await query.QueryAsync("SELECT count(v) FROM m"));
        Assert.Equal(200, series.GetInt64(0, "count"));
        Assert.Equal(200, writer.Statistics.Written);

        static LinePoint Point(int i) => LinePoint.Measurement("m").Field("v", (long)i).Timestamp(i);
    }

    [Fact]
    public async Task Finite_retries_give_up_loudly_and_dispose_counts_what_it_could_not_write()
    {
        await using var server = await LocalInfluxd.StartAsync(new LocalInfluxdOptions { Database = "giveup" });
        var options = FastRetries(server.CreateOptions());
        options.MaxRetries = 2;
        await server.StopAsync();
        await using var down = await DownServer.HoldAsync(server.Port);
        var writer = new InfluxWriter(options);
        await writer.WriteAsync(LinePoint.Measurement("m").Field("v", 1L).Timestamp(1));
        var ex = await Assert.ThrowsAsync<InfluxWriteException>(() => writer.FlushAsync().WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal((0L, 1L), (ex.RejectedPoints, ex.FailedPoints));
        Assert.Equal(2, writer.Statistics.Retries);

        options.MaxRetries = 0;
        options.ShutdownTimeout = TimeSpan.FromMilliseconds(300);
        var endless = new InfluxWriter(options);
        await endless.WriteAsync(LinePoint.Measurement("m").Field("v", 1L).Timestamp(1));
        await endless.WriteAsync(LinePoint.Measurement("m").Field("v", 2L).Timestamp(2));
        await endless.DisposeAsync();
        Assert.Equal((2L, 0L, 0L), (endless.Statistics.Failed, endless.Statistics.Written, endless.Statistics.Pending));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await endless.WriteAsync(LinePoint.Measurement("m").Field("v", 3L).Timestamp(3)));
        await writer.DisposeAsync();
    }
}
