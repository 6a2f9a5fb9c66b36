namespace ActorGateway.Mail.Events;

/// <summary>
/// When a webhook POST that failed is tried again: after <see cref="Initial"/>, doubling with each
/// failure in a row up to <see cref="Max"/>; an event older than <see cref="MaxAge"/> is given up
/// after its next failure (a receiver that is gone for days must not keep events forever).
/// </summary>
public sealed record WebhookBackoff(TimeSpan Initial, TimeSpan Max, TimeSpan MaxAge)
{
    public static readonly WebhookBackoff Default = new(TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(10), TimeSpan.FromDays(3));

    /// <summary>The pause after <paramref name="failures"/> failures in a row (1 = the first).</summary>
    public TimeSpan DelayAfter(int failures)
    {
        if (failures < 1) return TimeSpan.Zero;
        // Doubling past 2^30 overflows long before it matters: the cap is reached much earlier.
        var factor = Math.Pow(2, Math.Min(failures - 1, 30));
        var ticks = Initial.Ticks * factor;
        return ticks >= Max.Ticks ? Max : TimeSpan.FromTicks((long)ticks);
    }

    public bool IsTooOld(DateTimeOffset eventTime, DateTimeOffset now) => now - eventTime > MaxAge;
}
