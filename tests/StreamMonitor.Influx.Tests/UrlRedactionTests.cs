using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Microsoft.Extensions.Logging;
using StreamMonitor.Stack;

namespace StreamMonitor.Influx.Tests;

/// <summary>No secret of a configured URL reaches a log line or an error message.</summary>
public sealed class UrlRedactionTests
{
    private const string User = "admin";
    private const string Password = "s3cr3t-pa55";
    private const string PathSecret = "t0ken-path-9f8e7d";

    [Theory]
    [InlineData("https://hooks.slack.com/services/T000/B000/XXXXXXXX", "https://hooks.slack.com/<redacted:")]
    [InlineData("http://user:pw@influx:8086/", "http://influx:8086/")]
    [InlineData("http://user:pw@influx:8086", "http://influx:8086/")]
    [InlineData("https://example.com:8443/hook?token=abc", "https://example.com:8443/<redacted:")]
    public void Redact_keeps_scheme_host_and_port_and_hashes_path_and_query(string url, string expectedStart)
    {
        var redacted = UrlRedaction.Redact(url);
        Assert.StartsWith(expectedStart, redacted, StringComparison.Ordinal);
        Assert.DoesNotContain("pw", redacted, StringComparison.Ordinal);
        Assert.DoesNotContain("XXXXXXXX", redacted, StringComparison.Ordinal);
        Assert.DoesNotContain("abc", redacted, StringComparison.Ordinal);
        Assert.Equal(redacted, UrlRedaction.Redact(url));
        if (redacted.Contains("<redacted:", StringComparison.Ordinal))
        {
            // 8 hex digits of SHA-256: the same path gives the same hash, another path another.
            Assert.Matches("<redacted:[0-9a-f]{8}>$", redacted);
            Assert.NotEqual(redacted, UrlRedaction.Redact(url + "x"));
        }
    }

    [Fact]
    public void Scrub_removes_the_url_and_its_secret_parts_from_any_text()
    {
        var url = $"http://{User}:{Password}@127.0.0.1:9/{PathSecret}/";
        var text = $"failed: {url} | {new Uri(url).AbsoluteUri} | {Password} | /{PathSecret}/ | user {User}:{Password}";
        var scrubbed = UrlRedaction.Scrub(text, url);
        Assert.DoesNotContain(Password, scrubbed, StringComparison.Ordinal);
        Assert.DoesNotContain(PathSecret, scrubbed, StringComparison.Ordinal);
        Assert.Contains("http://127.0.0.1:9/<redacted:", scrubbed, StringComparison.Ordinal);
        Assert.Equal(UrlRedaction.Unparsable, UrlRedaction.Redact("not a url " + Password));
    }

    [Fact]
    public void Options_validation_shows_the_url_redacted()
    {
        var options = new InfluxOptions { Url = $"ftp://{User}:{Password}@influx/{PathSecret}" };
        var errors = options.Validate(new System.ComponentModel.DataAnnotations.ValidationContext(options)).Select(e => e.ErrorMessage).ToList();
        Assert.Contains(errors, e => e!.Contains("ftp://influx/<redacted:", StringComparison.Ordinal));
        Assert.DoesNotContain(errors, e => e!.Contains(Password, StringComparison.Ordinal) || e.Contains(PathSecret, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Write_and_query_failures_against_a_credentialed_url_log_no_secret()
    {
        // A server that checks the credentials from the URL's user-info, then refuses everything: /write answers
        // "database not found" (so the writer tries CREATE DATABASE), /query answers 500.
        var port = LocalPorts.Free();
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        var authorizations = new ConcurrentBag<string?>();
        var serving = Task.Run(async () =>
        {
            while (listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await listener.GetContextAsync();
                }
                catch (HttpListenerException)
                {
                    return;
                }
                catch (ObjectDisposedException)
                {
                    return;
                }

                authorizations.Add(context.Request.Headers["Authorization"]);
                var write = context.Request.Url!.AbsolutePath.EndsWith("/write", StringComparison.Ordinal);
                context.Response.StatusCode = write ? 404 : 500;
                var body = Encoding.UTF8.GetBytes(write ? "{\"error\":\"database not found: \\\"x\\\"\"}" : "{\"error\":\"boom\"}");
                await context.Response.OutputStream.WriteAsync(body);
                context.Response.Close();
            }
        });

        var logger = new CapturingLogger<InfluxWriter>();
        var options = new InfluxOptions
        {
            Url = $"http://{User}:{Password}@127.0.0.1:{port}/{PathSecret}/",
            MaxRetries = 1,
            RetryInitialDelay = TimeSpan.FromMilliseconds(10),
            RetryMaxDelay = TimeSpan.FromMilliseconds(20),
            FlushInterval = TimeSpan.FromMilliseconds(10),
        };
        var problems = new List<string>();
        await using (var writer = new InfluxWriter(options, logger: logger))
        {
            await writer.WriteAsync(LinePoint.Measurement("m").Field("v", 1L).Timestamp(1));
            problems.Add((await Assert.ThrowsAsync<InfluxWriteException>(() => writer.FlushAsync())).Message);
        }

        using (var query = new InfluxQueryClient(options))
        {
            problems.Add((await Assert.ThrowsAsync<InfluxQueryException>(() => query.QueryAsync("SELECT * FROM m"))).Message);
        }

        listener.Stop();
        await serving;

        // Nothing listens any more: connection refused, retried, given up.
        await using (var writer = new InfluxWriter(options, logger: logger))
        {
            await writer.WriteAsync(LinePoint.Measurement("m").Field("v", 2L).Timestamp(2));
            problems.Add((await Assert.ThrowsAsync<InfluxWriteException>(() => writer.FlushAsync())).Message);
        }

        // The credentials in the URL were used, as basic authentication.
        Assert.Contains($"Basic {Convert.ToBase64String(Encoding.UTF8.GetBytes($"{User}:{Password}"))}", authorizations);
        Assert.Contains(logger.Lines, l => l.Contains("could not be created", StringComparison.Ordinal));
        Assert.Contains(logger.Lines, l => l.Contains("rejected", StringComparison.Ordinal));
        Assert.Contains(logger.Lines, l => l.Contains("still unreachable", StringComparison.Ordinal));
        Assert.Contains(logger.Lines, l => l.Contains($"http://127.0.0.1:{port}/<redacted:", StringComparison.Ordinal));
        foreach (var text in logger.Lines.Concat(problems))
        {
            Assert.DoesNotContain(Password, text, StringComparison.Ordinal);
            Assert.DoesNotContain(PathSecret, text, StringComparison.Ordinal);
            Assert.DoesNotContain($"{User}:", text, StringComparison.Ordinal);
        }
    }

    /// <summary>Every log entry as text: the formatted message, each structured value and the exception.</summary>
    private sealed class CapturingLogger<T> : ILogger<T>
    {
        private readonly ConcurrentQueue<string> _lines = new();

        public IReadOnlyCollection<string> Lines => _lines;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var values = state is IEnumerable<KeyValuePair<string, object?>> pairs ? string.Join(" ", pairs.Select(p => $"{p.Key}={p.Value}")) : "";
            _lines.Enqueue($"{logLevel}: {formatter(state, exception)} [{values}] {exception}");
        }
    }
}
