using System.Globalization;
using Microsoft.Extensions.Configuration;
using StreamMonitor.Kafka;

namespace StreamMonitor.Cli.Commands;

/// <summary>Parsing shared by the demo, traffic, replay and report verbs.</summary>
internal static class CliTime
{
    /// <summary>An event time given as ISO-8601 (UTC unless an offset is given) or as Unix epoch milliseconds.</summary>
    public static bool TryParseEventTime(string? text, out long epochMs)
    {
        epochMs = 0;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        if (long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out epochMs))
        {
            return true;
        }

        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed))
        {
            epochMs = parsed.ToUnixTimeMilliseconds();
            return true;
        }

        return false;
    }

    /// <summary>Kafka settings from Kafka__* environment variables, with the bootstrap servers and suffix overridden when given.</summary>
    public static KafkaOptions KafkaFromEnvironment(string? bootstrapServers, string? suffix = null)
    {
        var options = new KafkaOptions();
        new ConfigurationBuilder().AddEnvironmentVariables().Build().GetSection(KafkaOptions.SectionName).Bind(options);
        options.BootstrapServers = bootstrapServers ?? options.BootstrapServers;
        if (suffix is not null)
        {
            options.Topics.Suffix = suffix;
        }

        return options;
    }
}
