using StreamMonitor.Influx;

namespace StreamMonitor.Influx.Tests;

public sealed class LinePointTests
{
    [Fact]
    public void Renders_sorted_tags_typed_fields_and_nanosecond_time()
    {
        var line = LinePoint.Measurement("latency_window")
            .Tag("window", "10s").Tag("model", "m1").Tag("version", "3")
            .Field("count", 42L).Field("error_rate", 0.25).Field("drifted", false).Field("state", "firing")
            .Timestamp(1_700_000_000_123_456_789)
            .ToLineProtocol();

        Assert.Equal("latency_window,model=m1,version=3,window=10s count=42i,error_rate=0.25,drifted=false,state=\"firing\" 1700000000123456789", line);
    }

    [Fact]
    public void Escapes_measurement_tags_field_keys_and_string_values()
    {
        var line = LinePoint.Measurement("my meas,ure=x")
            .Tag("tag key,=", "va lue,=x")
            .Field("field key,=\"q", "say \"hi\" C:\\path\\")
            .TimestampMs(1)
            .ToLineProtocol();

        Assert.Equal(@"my\ meas\,ure\=x,tag\ key\,\==va\ lue\,\=x field\ key\,\=""q=""say \""hi\"" C:\\path\\"" 1000000", line);
    }

    [Fact]
    public void Keeps_unicode_and_interior_backslashes_literal()
    {
        var line = LinePoint.Measurement("mesure_é").Tag("modèle", "日本\\語").Field("v", 1.5).Timestamp(5).ToLineProtocol();
        Assert.Equal("mesure_é,modèle=日本\\語 v=1.5 5", line);
    }

    [Fact]
    public void Sorts_tags_by_unicode_code_point()
    {
        // U+1F600 (a surrogate pair in UTF-16) sorts after U+FF5E in UTF-8 byte order, although its UTF-16 code unit is smaller.
        var line = LinePoint.Measurement("m").Tag("\U0001F600", "a").Tag("\uFF5E", "b").Tag("B", "c").Tag("a", "d").Field("f", 1L).Timestamp(0).ToLineProtocol();
        Assert.Equal("m,B=c,a=d,\uFF5E=b,\U0001F600=a f=1i 0", line);
    }

    [Fact]
    public void Renders_doubles_round_trippable_and_from_datetimeoffset()
    {
        var line = LinePoint.Measurement("m").Field("x", 0.1 + 0.2).Field("big", 1e300).Field("neg", -2.0)
            .Timestamp(new DateTimeOffset(2026, 11, 22, 0, 0, 0, TimeSpan.Zero).AddTicks(1)).ToLineProtocol();
        Assert.Equal("m x=0.30000000000000004,big=1E+300,neg=-2 1795305600000000100", line);
    }

    [Fact]
    public void Omits_null_fields()
    {
        var line = LinePoint.Measurement("m").Field("a", (double?)null).Field("b", (long?)7).Field("c", (bool?)null).Timestamp(1).ToLineProtocol();
        Assert.Equal("m b=7i 1", line);
    }

    [Theory]
    [InlineData("new\nline")]
    [InlineData("carriage\rreturn")]
    [InlineData("tab\there")]
    [InlineData("nul\0")]
    public void Rejects_control_characters_everywhere(string hostile)
    {
        Assert.Throws<LineProtocolException>(() => LinePoint.Measurement(hostile));
        Assert.Throws<LineProtocolException>(() => LinePoint.Measurement("m").Tag(hostile, "v"));
        Assert.Throws<LineProtocolException>(() => LinePoint.Measurement("m").Tag("k", hostile));
        Assert.Throws<LineProtocolException>(() => LinePoint.Measurement("m").Field(hostile, 1L));
        Assert.Throws<LineProtocolException>(() => LinePoint.Measurement("m").Field("f", hostile));
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NegativeInfinity)]
    public void Rejects_non_finite_floats(double value)
    {
        var ex = Assert.Throws<LineProtocolException>(() => LinePoint.Measurement("m").Field("f", value));
        Assert.Contains("'f'", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ends\\")]
    [InlineData("a\\,b")]
    [InlineData("a\\ b")]
    [InlineData("a\\=b")]
    public void Rejects_backslashes_that_InfluxDB_would_read_as_escapes(string name)
    {
        Assert.Throws<LineProtocolException>(() => LinePoint.Measurement(name));
        Assert.Throws<LineProtocolException>(() => LinePoint.Measurement("m").Tag("k", name));
        Assert.Throws<LineProtocolException>(() => LinePoint.Measurement("m").Field(name, 1L));
    }

    [Fact]
    public void Rejects_invalid_points()
    {
        Assert.Throws<LineProtocolException>(() => LinePoint.Measurement(""));
        Assert.Throws<LineProtocolException>(() => LinePoint.Measurement("#comment"));
        Assert.Throws<LineProtocolException>(() => LinePoint.Measurement("m").Tag("k", ""));
        Assert.Throws<LineProtocolException>(() => LinePoint.Measurement("m").Tag("k", "a").Tag("k", "b"));
        Assert.Throws<LineProtocolException>(() => LinePoint.Measurement("m").Field("f", 1L).Field("f", 2L));
        Assert.Throws<LineProtocolException>(() => LinePoint.Measurement("m").Field("time", 1L));
        Assert.Throws<LineProtocolException>(() => LinePoint.Measurement("m").Field("s", "lone \uD800 surrogate"));
        Assert.Throws<InvalidOperationException>(() => LinePoint.Measurement("m").Timestamp(1).ToLineProtocol());
        Assert.Throws<InvalidOperationException>(() => LinePoint.Measurement("m").Field("f", 1L).ToLineProtocol());
    }
}
