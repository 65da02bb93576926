using StreamMonitor.Contracts;
using StreamMonitor.Contracts.Validation;

namespace StreamMonitor.Contracts.Tests;

public class ModelKeyTests
{
    [Theory]
    [InlineData("fraud", "3")]
    [InlineData("m.v2-α", "2026-12-07")]
    [InlineData("x", "all")]
    public void The_text_form_parses_back_to_the_same_key(string name, string version)
    {
        var key = new ModelKey(name, version);
        Assert.Equal($"{name}|{version}", key.ToString());
        Assert.Equal(key, ModelKey.Parse(key.ToString()));
    }

    [Fact]
    public void A_window_key_built_from_a_model_key_carries_its_name_and_version()
    {
        var window = ModelKey.AllVersions("fraud").Window(WindowKind.Drift, 1_700_000_000_000, 60_000);
        Assert.Equal("drift|fraud|all|1700000000000|60000", window.ToString());
        Assert.Equal(window, WindowKey.Parse(window.ToString()));
    }

    [Fact]
    public void Text_without_a_separator_is_not_a_model_key() =>
        Assert.Throws<FormatException>(() => ModelKey.Parse("fraud"));

    [Fact]
    public void A_name_with_the_separator_is_refused_at_the_source_so_the_text_form_is_unambiguous()
    {
        Assert.False(Identifiers.IsValidModel("fr|aud"));
        Assert.Equal(new ModelKey("fraud", "v|2"), ModelKey.Parse("fraud|v|2"));
    }
}
