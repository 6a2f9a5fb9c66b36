namespace ActorGateway.Mail.Delivery;

/// <summary>
/// When to try again after a temporary failure, and when to give up: the n-th retry waits
/// Delays[n] (the last delay repeats), and a message older than MaxLifetime is bounced.
/// </summary>
public sealed record RetrySchedule(IReadOnlyList<TimeSpan> Delays, TimeSpan MaxLifetime)
{
    public static RetrySchedule Default { get; } = new(
        [TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(15), TimeSpan.FromMinutes(30),
         TimeSpan.FromHours(1), TimeSpan.FromHours(2), TimeSpan.FromHours(4)],
        TimeSpan.FromDays(5));

    public TimeSpan DelayAfter(int failedAttempts) => Delays[Math.Clamp(failedAttempts - 1, 0, Delays.Count - 1)];

    /// <summary>
    /// The first time after <paramref name="after"/> at which a message received at
    /// <paramref name="receivedAt"/> and deferred at every try is due: receipt plus Delays[0], plus
    /// Delays[1], and so on, the last delay repeating.
    /// </summary>
    public DateTimeOffset NextAfter(DateTimeOffset receivedAt, DateTimeOffset after)
    {
        var at = receivedAt;
        for (var i = 0; i < Delays.Count; i++)
        {
            at += Delays[i] > TimeSpan.Zero ? Delays[i] : TimeSpan.FromSeconds(1);
            if (at > after) return at;
        }
        var last = Delays.Count > 0 && Delays[^1] > TimeSpan.Zero ? Delays[^1] : TimeSpan.FromSeconds(1);
        return at + TimeSpan.FromTicks(last.Ticks * ((after - at).Ticks / last.Ticks + 1));
    }

    public bool IsExpired(DateTimeOffset receivedAt, DateTimeOffset now) => now - receivedAt >= MaxLifetime;
}
