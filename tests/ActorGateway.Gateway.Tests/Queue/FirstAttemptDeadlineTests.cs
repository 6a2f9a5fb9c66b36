using ActorGateway.Node.Pipeline;
using ActorGateway.Node.Queue;

namespace ActorGateway.Gateway.Tests.Queue;

/// <summary>
/// New mail of a living accepting node is woken by the sweeper once its first attempt could have
/// ended, and after a storage failure not before that node had time to write the answers it holds.
/// </summary>
public sealed class FirstAttemptDeadlineTests
{
    static readonly DateTimeOffset Now = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);
    static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    static bool Passed(DateTimeOffset due, DateTimeOffset? storageFailedAt) => FirstAttemptDeadline.Passed(due, storageFailedAt, Now, Now + Interval);

    [Fact]
    public void Without_a_storage_failure_the_mail_is_woken_once_its_first_attempt_could_have_ended()
    {
        Assert.False(Passed(Now + TimeSpan.FromSeconds(5), null));
        Assert.True(Passed(Now + Interval, null));
        Assert.True(Passed(Now - TimeSpan.FromMinutes(20), null));
    }

    [Fact]
    public void After_a_storage_failure_overdue_mail_waits_until_its_node_could_have_written_the_answers_it_holds()
    {
        var overdue = Now - TimeSpan.FromMinutes(20); // an outage longer than the first attempt's grace
        var waitsFor = MessageIntake.LongestWritePause;
        Assert.True(FirstAttemptDeadline.AfterStorageFailure > waitsFor);
        Assert.False(Passed(overdue, Now));
        Assert.False(Passed(overdue, Now - waitsFor));
        Assert.False(Passed(overdue, Now - FirstAttemptDeadline.AfterStorageFailure + TimeSpan.FromMilliseconds(1)));
        Assert.True(Passed(overdue, Now - FirstAttemptDeadline.AfterStorageFailure));
    }

    [Fact]
    public void A_storage_failure_long_ago_does_not_hold_back_mail_that_is_not_due_or_is_due()
    {
        var longAgo = Now - TimeSpan.FromHours(1);
        Assert.False(Passed(Now + TimeSpan.FromSeconds(5), longAgo));
        Assert.True(Passed(Now, longAgo));
    }
}
