using MathNet.Numerics;

namespace StreamMonitor.Slo;

/// <summary>
/// The statistical low-traffic guard of burn-rate tiers: is a bad count improbable under the SLO's allowed bad rate?
/// A fixed minimum of events is either too weak for a small budget (140 requests at start-up with four slow ones
/// burn a 2% budget at 1.4x, yet that happens by chance a third of the time) or too strict for a large one; a
/// one-sided binomial test states its false-alarm rate whatever the traffic.
/// </summary>
public static class LowTrafficGuard
{
    /// <summary>P(X &gt;= <paramref name="bad"/>) for X ~ Binomial(<paramref name="total"/>, <paramref name="allowedRate"/>).</summary>
    public static double UpperTail(long bad, long total, double allowedRate)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bad);
        ArgumentOutOfRangeException.ThrowIfLessThan(total, bad);
        if (bad == 0)
        {
            return 1;
        }

        if (allowedRate <= 0)
        {
            return 0;
        }

        // P(X >= k) = I_p(k, n - k + 1), the regularized incomplete beta function.
        return allowedRate >= 1 ? 1 : SpecialFunctions.BetaRegularized(bad, total - bad + 1, allowedRate);
    }

    /// <summary>
    /// Whether <paramref name="bad"/> of <paramref name="total"/> is improbable at <paramref name="confidence"/> if
    /// the true bad rate were <paramref name="allowedRate"/>; always true when <paramref name="confidence"/> is 0.
    /// </summary>
    public static bool Improbable(long bad, long total, double allowedRate, double confidence) =>
        confidence <= 0 || UpperTail(bad, total, allowedRate) <= 1 - confidence;
}
