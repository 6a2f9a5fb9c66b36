using ActorGateway.Node.Pipeline;

namespace ActorGateway.Node.Queue;

/// <summary>
/// When the queue sweeper stops leaving new mail to the living node that accepted it (which
/// makes the first attempt and journals its answers) and wakes the mail itself. Normally once
/// the longest first attempt could have ended. After storage failed, not before the accepting
/// node had time to write answers it holds: it writes them again after pauses of up to
/// <see cref="MessageIntake.LongestWritePause"/>, and a wake before that would deliver a message
/// a second time that was delivered during the outage.
/// </summary>
public static class FirstAttemptDeadline
{
    /// <summary>How long after a failed read of the journal new mail stays with its accepting node: its next write and the answer.</summary>
    public static readonly TimeSpan AfterStorageFailure = MessageIntake.LongestWritePause + TimeSpan.FromSeconds(10);

    /// <param name="due">Receipt plus the longest first attempt (and a margin).</param>
    /// <param name="storageFailedAt">When the sweeper last could not read the journal, if ever.</param>
    /// <param name="horizon">The next sweep: what is due before it is woken now.</param>
    public static bool Passed(DateTimeOffset due, DateTimeOffset? storageFailedAt, DateTimeOffset now, DateTimeOffset horizon) =>
        due <= horizon && (storageFailedAt is not { } failed || now - failed >= AfterStorageFailure);
}
