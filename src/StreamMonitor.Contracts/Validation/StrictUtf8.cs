using System.Text;

namespace StreamMonitor.Contracts.Validation;

/// <summary>
/// UTF-8 that throws on invalid byte sequences. <see cref="Encoding.UTF8"/> silently substitutes U+FFFD, which would
/// turn two different invalid event ids into one valid-looking id and score the event under it.
/// </summary>
public static class StrictUtf8
{
    /// <summary>No BOM, throws <see cref="DecoderFallbackException"/> on invalid input.</summary>
    public static UTF8Encoding Encoding { get; } = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
}
