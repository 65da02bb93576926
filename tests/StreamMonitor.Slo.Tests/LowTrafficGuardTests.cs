using StreamMonitor.Slo;

namespace StreamMonitor.Slo.Tests;

/// <summary>The statistical low-traffic guard against exact binomial sums and the demo's cold-start case.</summary>
public sealed class LowTrafficGuardTests
{
    /// <summary>P(X >= k) summed term by term in log space: the exact reference.</summary>
    private static double ExactUpperTail(long k, long n, double p)
    {
        double sum = 0;
        for (var i = k; i <= n; i++)
        {
            var log = LogChoose(n, i) + (i * Math.Log(p)) + ((n - i) * Math.Log(1 - p));
            sum += Math.Exp(log);
        }

        return Math.Min(1, sum);
    }

    private static double LogChoose(long n, long k)
    {
        double result = 0;
        for (long i = 1; i <= k; i++)
        {
            result += Math.Log(n - k + i) - Math.Log(i);
        }

        return result;
    }

    [Theory]
    [InlineData(1L, 10L, 0.001)]
    [InlineData(4L, 140L, 0.02)]
    [InlineData(10L, 140L, 0.02)]
    [InlineData(3L, 1000L, 0.001)]
    [InlineData(50L, 2000L, 0.01)]
    [InlineData(140L, 140L, 0.02)]
    public void The_upper_tail_equals_the_exact_binomial_sum(long bad, long total, double rate) =>
        Assert.Equal(ExactUpperTail(bad, total, rate), LowTrafficGuard.UpperTail(bad, total, rate), 1e-9);

    [Fact]
    public void No_bad_events_are_never_improbable_and_a_disabled_guard_always_passes()
    {
        Assert.Equal(1, LowTrafficGuard.UpperTail(0, 1_000_000, 0.001));
        Assert.False(LowTrafficGuard.Improbable(0, 1_000_000, 0.001, 0.999));
        Assert.True(LowTrafficGuard.Improbable(0, 10, 0.001, 0));
    }

    [Fact]
    public void The_demos_cold_start_does_not_hold_but_a_real_regression_does()
    {
        // 140 predictions, 4 over the threshold of a 98% SLO (burn 1.43x): a third of healthy starts look like that.
        Assert.False(LowTrafficGuard.Improbable(4, 140, 0.02, 0.999));

        // The demo's regression: every prediction over the threshold.
        Assert.True(LowTrafficGuard.Improbable(140, 140, 0.02, 0.999));

        // One failure in ten requests of a 99.9% SLO: improbable at 99%, not at 99.9% (the Workbook's low-traffic case).
        Assert.True(LowTrafficGuard.Improbable(1, 10, 0.001, 0.99));
        Assert.False(LowTrafficGuard.Improbable(1, 10, 0.001, 0.999));
    }

    [Fact]
    public void Its_false_alarm_rate_is_at_most_one_minus_the_confidence()
    {
        // Traffic exactly at the allowed rate: the share of windows the guard lets through stays within 0.1%.
        var rng = new Random(7);
        var passed = 0;
        const int windows = 20_000;
        for (var w = 0; w < windows; w++)
        {
            var bad = 0;
            for (var i = 0; i < 500; i++)
            {
                bad += rng.NextDouble() < 0.01 ? 1 : 0;
            }

            passed += LowTrafficGuard.Improbable(bad, 500, 0.01, 0.999) ? 1 : 0;
        }

        Assert.True(passed <= windows * 0.001 * 1.5, $"{passed} of {windows} windows passed the guard");
    }
}
