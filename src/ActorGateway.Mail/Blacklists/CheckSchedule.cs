using Cronos;

namespace ActorGateway.Mail.Blacklists;

/// <summary>
/// When the blacklist check runs: a cron expression (5 fields, or 6 with seconds) in a time
/// zone, so that "0 5 * * *" in Europe/Berlin is 05:00 local time in summer and in winter.
/// A slot is identified by its instant, which lets the monitor run each slot once.
/// </summary>
public sealed class CheckSchedule
{
    readonly CronExpression _cron;
    readonly TimeZoneInfo _zone;

    public CheckSchedule(string cron, string timeZone)
    {
        var fields = cron.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
        _cron = CronExpression.Parse(cron, fields == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard);
        _zone = TimeZoneInfo.FindSystemTimeZoneById(timeZone);
        Description = $"{cron} ({timeZone})";
    }

    public string Description { get; }

    /// <summary>The first slot strictly after <paramref name="after"/>.</summary>
    public DateTimeOffset Next(DateTimeOffset after) =>
        _cron.GetNextOccurrence(after.UtcDateTime, _zone) is { } next ? new DateTimeOffset(next, TimeSpan.Zero)
            : throw new InvalidOperationException($"the schedule {Description} has no next occurrence");

    /// <summary>The latest slot at or before <paramref name="now"/> that comes after <paramref name="since"/>, if any.</summary>
    public DateTimeOffset? LatestDue(DateTimeOffset since, DateTimeOffset now)
    {
        DateTimeOffset? due = null;
        for (var slot = Next(since); slot <= now; slot = Next(slot)) due = slot;
        return due;
    }
}
