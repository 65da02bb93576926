using StreamMonitor.Influx;
using StreamMonitor.Testing;

namespace StreamMonitor.Influx.Tests;

/// <summary>Writer and query client against a real influxd.</summary>
public sealed class InfluxRoundTripTests : IClassFixture<InfluxFixture>
{
    private readonly InfluxFixture _influx;

    public InfluxRoundTripTests(InfluxFixture influx) => _influx = influx;

    public static TheoryData<string> HostileNames => new()
    {
        "plain",
        "with space",
        "com,ma",
        "equals=sign",
        "quote\"d",
        "single'quote",
        "back\\slash",
        "double\\\\back",
        "ünïcødé 日本語 😀",
        " leading and trailing ",
        ",= \"\\x mixed all",
    };

    [Theory]
    [MemberData(nameof(HostileNames))]
    public async Task Hostile_names_and_values_round_trip_exactly(string hostile)
    {
        var options = await _influx.CreateDatabaseAsync();
        var tagKey = "t" + hostile;
        var fieldKey = "f" + hostile;
        var stringValue = hostile + " \"quoted\" \\ trailing\\";
        await using (var writer = InfluxFixture.CreateWriter(options))
        {
            await writer.WriteAsync(LinePoint.Measurement(hostile).Tag(tagKey, hostile).Tag("plain_tag", "x")
                .Field(fieldKey, stringValue).Field("n", 3L).Timestamp(1_000_000_000));
            await writer.FlushAsync();
        }

        using var query = InfluxFixture.CreateQueryClient(options);
        var measurements = await query.QueryAsync("SHOW MEASUREMENTS");
        Assert.Equal([hostile], measurements.Single().StringColumn("name"));

        var series = Assert.Single(await query.QueryAsync(
            $"SELECT * FROM {InfluxQl.Identifier(hostile)} WHERE {InfluxQl.Identifier(tagKey)} = {InfluxQl.Literal(hostile)}"));
        Assert.Equal(hostile, series.Name);
        Assert.Equal(new[] { "time", "n", "plain_tag", tagKey, fieldKey }.Order(StringComparer.Ordinal), series.Columns.Order(StringComparer.Ordinal));
        Assert.Single(series.Rows);
        Assert.Equal(1000, series.GetInt64(0, "time"));
        Assert.Equal(3, series.GetInt64(0, "n"));
        Assert.Equal("x", series.GetString(0, "plain_tag"));
        Assert.Equal(hostile, series.GetString(0, tagKey));
        Assert.Equal(stringValue, series.GetString(0, fieldKey));
    }

    [Fact]
    public async Task Newlines_and_NaN_are_rejected_before_the_buffer()
    {
        var options = await _influx.CreateDatabaseAsync();
        await using var writer = InfluxFixture.CreateWriter(options);
        Assert.Throws<LineProtocolException>(() => LinePoint.Measurement("m").Tag("k", "a\nb"));
        Assert.Throws<LineProtocolException>(() => LinePoint.Measurement("m").Field("f", double.NaN));
        var incomplete = LinePoint.Measurement("m").Tag("k", "v");
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await writer.WriteAsync(incomplete));
        Assert.Equal(0, writer.Statistics.Accepted);
    }

    [Fact]
    public async Task Same_point_identity_overwrites_with_the_latest_fields()
    {
        var options = await _influx.CreateDatabaseAsync();
        await using (var writer = InfluxFixture.CreateWriter(options))
        {
            await writer.WriteAsync(LinePoint.Measurement("quality_window").Tag("model", "m").Tag("window", "1m").Field("accuracy", 0.5).Field("revision", 1L).TimestampMs(60_000));
            await writer.FlushAsync();
            await writer.WriteAsync(LinePoint.Measurement("quality_window").Tag("window", "1m").Tag("model", "m").Field("accuracy", 0.75).Field("revision", 2L).TimestampMs(60_000));
            await writer.FlushAsync();
            Assert.Equal(2, writer.Statistics.Written);
        }

        using var query = InfluxFixture.CreateQueryClient(options);
        var series = Assert.Single(await query.QueryAsync("SELECT * FROM quality_window"));
        Assert.Single(series.Rows);
        Assert.Equal(0.75, series.GetDouble(0, "accuracy"));
        Assert.Equal(2, series.GetInt64(0, "revision"));
    }

    [Fact]
    public async Task Bad_points_are_isolated_counted_and_surfaced_while_good_points_are_written()
    {
        var options = await _influx.CreateDatabaseAsync();
        options.FlushInterval = TimeSpan.FromSeconds(5);
        await using var writer = InfluxFixture.CreateWriter(options);
        for (var i = 0; i < 20; i++)
        {
            // Point 13 changes the type of field "v" (integer -> string): InfluxDB answers 400 "field type conflict".
            var point = LinePoint.Measurement("m").Tag("i", i.ToString(System.Globalization.CultureInfo.InvariantCulture)).Timestamp(i);
            await writer.WriteAsync(i == 13 ? point.Field("v", "oops") : point.Field("v", (long)i));
        }

        var ex = await Assert.ThrowsAsync<InfluxWriteException>(() => writer.FlushAsync());
        Assert.Equal(1, ex.RejectedPoints);
        Assert.Equal(0, ex.FailedPoints);
        Assert.Contains("400", ex.Message, StringComparison.Ordinal);
        var stats = writer.Statistics;
        Assert.Equal((20, 19, 1, 0, 0), (stats.Accepted, stats.Written, stats.Rejected, stats.Pending, stats.Failed));

        // The problem is reported once; the next flush is clean.
        await writer.FlushAsync();

        using var query = InfluxFixture.CreateQueryClient(options);
        var series = Assert.Single(await query.QueryAsync("SELECT count(v) FROM m"));
        Assert.Equal(19, series.GetInt64(0, "count"));
    }

    [Fact]
    public async Task A_missing_database_is_created_on_the_first_write()
    {
        var options = (await _influx.CreateDatabaseAsync()).WithDatabase("created_by_writer_" + Guid.NewGuid().ToString("N"));
        await using (var writer = InfluxFixture.CreateWriter(options))
        {
            await writer.WriteAsync(LinePoint.Measurement("m").Field("v", 1L).Timestamp(1));
            await writer.FlushAsync();
            Assert.Equal((1L, 0L), (writer.Statistics.Written, writer.Statistics.Rejected));
        }

        using var query = InfluxFixture.CreateQueryClient(options);
        Assert.Equal(1, Assert.Single(await query.QueryAsync("SELECT count(v) FROM m")).GetInt64(0, "count"));
    }

    [Fact]
    public async Task Missing_database_is_a_rejection_not_an_endless_retry_when_creation_is_off()
    {
        var options = (await _influx.CreateDatabaseAsync()).WithDatabase("does_not_exist_" + Guid.NewGuid().ToString("N"));
        options.CreateDatabase = false;
        await using var writer = InfluxFixture.CreateWriter(options);
        await writer.WriteAsync(LinePoint.Measurement("m").Field("v", 1L).Timestamp(1));
        await writer.WriteAsync(LinePoint.Measurement("m").Field("v", 2L).Timestamp(2));
        var ex = await Assert.ThrowsAsync<InfluxWriteException>(() => writer.FlushAsync().WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(2, ex.RejectedPoints);
        Assert.Contains("404", ex.Message, StringComparison.Ordinal);
        Assert.Equal(0, writer.Statistics.Retries);
    }

    [Fact]
    public async Task Query_results_are_typed_and_grouped_series_carry_their_tags()
    {
        var options = await _influx.CreateDatabaseAsync();
        await using (var writer = InfluxFixture.CreateWriter(options))
        {
            await writer.WriteAsync(LinePoint.Measurement("alert").Tag("severity", "page").Field("value", 2.5).Field("firing", 1L).Field("on", true).Field("state", "firing").TimestampMs(1_700_000_000_000));
            await writer.WriteAsync(LinePoint.Measurement("alert").Tag("severity", "ticket").Field("value", 3.0).Field("firing", 0L).Field("on", false).Field("state", "resolved").TimestampMs(1_700_000_001_000));
            await writer.FlushAsync();
        }

        using var query = InfluxFixture.CreateQueryClient(options);
        var all = Assert.Single(await query.QueryAsync("SELECT value, firing, \"on\", state FROM alert"));
        Assert.Equal([2.5, 3.0], all.DoubleColumn("value"));
        Assert.Equal([1L, 0L], all.Int64Column("firing"));
        Assert.Equal(true, all.GetBoolean(0, "on"));
        Assert.Equal(false, all.GetBoolean(1, "on"));
        Assert.Equal(["firing", "resolved"], all.StringColumn("state"));
        Assert.Equal([new DateTime(2023, 11, 14, 22, 13, 20, DateTimeKind.Utc), new DateTime(2023, 11, 14, 22, 13, 21, DateTimeKind.Utc)], all.TimeColumn());
        Assert.Throws<InvalidCastException>(() => all.GetDouble(0, "state"));
        Assert.Throws<KeyNotFoundException>(() => all.GetDouble(0, "nope"));

        var grouped = await query.QueryAsync("SELECT max(value) FROM alert GROUP BY severity");
        Assert.Equal(["page", "ticket"], grouped.Select(s => s.Tags["severity"]).Order(StringComparer.Ordinal));
        Assert.Equal(3.0, grouped.Single(s => s.Tags["severity"] == "ticket").GetDouble(0, "max"));

        Assert.Empty(await query.QueryAsync("SELECT * FROM no_such_measurement"));
        await Assert.ThrowsAsync<InfluxQueryException>(() => query.QueryAsync("SELEKT nonsense"));
    }
}
