using Microsoft.Extensions.Logging;

namespace StreamMonitor.Cli.Commands;

/// <summary>Console logging for verbs that run without a Generic Host.</summary>
internal static class CliLogging
{
    /// <summary>A logger factory writing single-line entries to the console (stderr for warnings and errors).</summary>
    public static ILoggerFactory Create(LogLevel minimum = LogLevel.Information) => LoggerFactory.Create(builder => builder
        .SetMinimumLevel(minimum)
        .AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
        })
        .AddFilter("System.Net.Http", LogLevel.Warning));
}
