namespace StreamMonitor.Slo;

/// <summary>
/// The SRE Workbook's multiwindow multi-burn-rate tiers (chapter 5, table 5-8), defined by budget share so they
/// scale to any period: burn rate = budget share x period / long window. For 30 days this gives exactly
/// page 1h/5m x14.4 (2%), page 6h/30m x6 (5%), ticket 1d/2h x3 (10%), ticket 3d/6h x1 (10%).
/// </summary>
public static class DefaultTiers
{
    /// <summary>(name, severity, long window, short window, budget share) of the Workbook tiers.</summary>
    public static readonly IReadOnlyList<(string Name, string Severity, TimeSpan Long, TimeSpan Short, double Share)> Workbook =
    [
        ("page-1h", Severities.Page, TimeSpan.FromHours(1), TimeSpan.FromMinutes(5), 0.02),
        ("page-6h", Severities.Page, TimeSpan.FromHours(6), TimeSpan.FromMinutes(30), 0.05),
        ("ticket-1d", Severities.Ticket, TimeSpan.FromDays(1), TimeSpan.FromHours(2), 0.10),
        ("ticket-3d", Severities.Ticket, TimeSpan.FromDays(3), TimeSpan.FromHours(6), 0.10),
    ];

    /// <summary>The Workbook tiers scaled to a period length.</summary>
    public static IReadOnlyList<BurnRateTierSpec> For(TimeSpan period) =>
        [.. Workbook.Select(t => new BurnRateTierSpec(t.Name, t.Severity, t.Long, t.Short, BurnRateFor(t.Share, period, t.Long), t.Share))];

    /// <summary>Burn rate that spends <paramref name="budgetShare"/> of the budget of <paramref name="period"/> in <paramref name="longWindow"/>.</summary>
    public static double BurnRateFor(double budgetShare, TimeSpan period, TimeSpan longWindow) =>
        budgetShare * period.Ticks / longWindow.Ticks;

    /// <summary>Budget share spent in <paramref name="longWindow"/> at <paramref name="burnRate"/>.</summary>
    public static double BudgetShareFor(double burnRate, TimeSpan period, TimeSpan longWindow) =>
        burnRate * longWindow.Ticks / period.Ticks;
}
