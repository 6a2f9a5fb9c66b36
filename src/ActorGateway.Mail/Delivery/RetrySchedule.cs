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

    public bool IsExpired(DateTimeOffset receivedAt, DateTimeOffset now) => now - receivedAt >= MaxLifetime;
}
