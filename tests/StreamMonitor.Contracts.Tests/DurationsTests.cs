using System.ComponentModel;
using FsCheck.Xunit;

namespace StreamMonitor.Contracts.Tests;

/// <summary>The one duration notation: what it reads (every form the three former parsers read), what it writes, and its errors.</summary>
public sealed class DurationsTests
{
    [Theory]
    [InlineData("500ms", 500)]
    [InlineData("10s", 10_000)]
    [InlineData("1m", 60_000)]
    [InlineData("1h", 3_600_000)]
    [InlineData("1d", 86_400_000)]
    [InlineData("2w", 14 * 86_400_000L)]
    [InlineData("0s", 0)]
    [InlineData(" 30d ", 30 * 86_400_000L)]
    [InlineData("1.5h", 5_400_000)]
    [InlineData("0.5s", 500)]
    [InlineData("106751991167d", 106_751_991_167L * 86_400_000)]
    public void Reads_every_form_the_former_parsers_read(string text, long expectedMs)
    {
        Assert.True(Durations.TryParseMilliseconds(text, out var ms));
        Assert.Equal(expectedMs, ms);
        Assert.Equal(expectedMs, Durations.ParseMilliseconds(text));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("5")]
    [InlineData("s")]
    [InlineData("-5s")]
    [InlineData("5 s")]
    [InlineData("5S")]
    [InlineData("5y")]
    [InlineData(".5s")]
    [InlineData("1.2.3s")]
    [InlineData("0.5ms")]
    [InlineData("200000000000d")]
    [InlineData("00:00:05")]
    public void Rejects_anything_else_with_a_message_that_names_the_text_and_the_notation(string? text)
    {
        Assert.False(Durations.TryParseMilliseconds(text, out _));
        Assert.False(Durations.TryParse(text, out _));
        var error = Assert.Throws<FormatException>(() => Durations.Parse(text));
        Assert.Equal($"'{text}' is not a duration: use {Durations.Notation}.", error.Message);
        Assert.Throws<FormatException>(() => Durations.ParseMilliseconds(text));
    }

    [Fact]
    public void A_duration_beyond_TimeSpan_is_milliseconds_only()
    {
        Assert.True(Durations.TryParseMilliseconds("106751991167d", out _));
        Assert.False(Durations.TryParse("106751991167d", out _));
        Assert.Equal(TimeSpan.FromDays(10_675_199), Durations.Parse("10675199d"));
    }

    [Theory]
    [InlineData(86_400_000, "1d")]
    [InlineData(7 * 86_400_000L, "7d")]
    [InlineData(3_600_000, "1h")]
    [InlineData(90_000, "90s")]
    [InlineData(300_000, "5m")]
    [InlineData(10_000, "10s")]
    [InlineData(1500, "1500ms")]
    [InlineData(0, "0s")]
    public void Writes_the_largest_unit_that_divides_the_value(long ms, string expected)
    {
        Assert.Equal(expected, Durations.FormatMilliseconds(ms));
        Assert.Equal(expected, Durations.Format(TimeSpan.FromMilliseconds(ms)));
    }

    [Property]
    public bool Round_trips_every_whole_number_of_milliseconds(long ms)
    {
        ms = ms == long.MinValue ? 0 : Math.Abs(ms);
        return Durations.ParseMilliseconds(Durations.FormatMilliseconds(ms)) == ms;
    }

    [Fact]
    public void Binds_TimeSpan_options_from_the_notation_and_the_dotnet_form()
    {
        Durations.RegisterTimeSpanConverter();
        Durations.RegisterTimeSpanConverter();
        var converter = TypeDescriptor.GetConverter(typeof(TimeSpan));
        Assert.IsType<DurationConverter>(converter);
        Assert.Equal(TimeSpan.FromSeconds(5), converter.ConvertFromInvariantString("5s"));
        Assert.Equal(TimeSpan.FromMilliseconds(500), converter.ConvertFromInvariantString("500ms"));
        Assert.Equal(TimeSpan.FromSeconds(5), converter.ConvertFromInvariantString("00:00:05"));
    }
}
