using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using StreamMonitor.Models.Inference;

namespace StreamMonitor.Cli.Commands;

/// <summary>
/// User errors (a missing or unreadable file, a model the scorer cannot serve, a bad model.json) end a verb with
/// exit code 2 and one line on stderr, never a stack trace; anything else is a bug and still surfaces as one.
/// </summary>
internal static class CliErrors
{
    /// <summary>Exit code of a verb refused for a user error.</summary>
    public const int UserError = 2;

    /// <summary>Runs <paramref name="body"/>, turning a user error into its one-line message and exit code 2.</summary>
    public static int Run(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception ex) when (IsUserError(ex))
        {
            return Report(ex);
        }
    }

    /// <summary>Runs <paramref name="body"/>, turning a user error into its one-line message and exit code 2.</summary>
    public static async Task<int> RunAsync(Func<Task<int>> body)
    {
        try
        {
            return await body();
        }
        catch (Exception ex) when (IsUserError(ex))
        {
            return Report(ex);
        }
    }

    /// <summary>Whether <paramref name="exception"/> comes from what the user gave rather than from a defect.</summary>
    public static bool IsUserError(Exception exception) =>
        exception is InvalidDataException or IOException or UnauthorizedAccessException or OnnxRuntimeException or JsonException
            or ExecutionProviderUnavailableException;

    private static int Report(Exception exception)
    {
        var line = string.Join(' ', exception.Message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Console.Error.WriteLine("error: " + line);
        return UserError;
    }
}
