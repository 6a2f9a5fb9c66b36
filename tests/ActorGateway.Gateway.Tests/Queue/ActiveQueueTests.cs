using ActorGateway.Node.Queue;

namespace ActorGateway.Gateway.Tests.Queue;

/// <summary>The bound on woken messages: the earliest due first, places freed by returns or by the timeout.</summary>
public sealed class ActiveQueueTests
{
    static readonly DateTimeOffset Now = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    static (string, DateTimeOffset)[] Due(params (string Id, int MinutesAgo)[] due) => due.Select(d => (d.Id, Now.AddMinutes(-d.MinutesAgo))).ToArray();

    [Fact]
    public void Admits_the_earliest_due_up_to_the_limit_and_says_that_more_wait()
    {
        var active = new ActiveQueue(2, TimeSpan.FromMinutes(5));
        var woken = active.Admit(Due(("new", 1), ("oldest", 30), ("middle", 10)), Now, out var more);

        Assert.Equal(["oldest", "middle"], woken);
        Assert.True(more);
        Assert.Equal(2, active.Count);
    }

    [Fact]
    public void A_woken_message_is_not_woken_again_while_active_and_a_return_frees_its_place()
    {
        var active = new ActiveQueue(2, TimeSpan.FromMinutes(5));
        active.Admit(Due(("a", 3), ("b", 2), ("c", 1)), Now, out _);

        Assert.Empty(active.Admit(Due(("a", 3), ("b", 2), ("c", 1)), Now.AddSeconds(1), out var more));
        Assert.True(more);

        // a's attempt ended (it is due later now): its place goes to c.
        active.Returned("a");
        Assert.Equal(["c"], active.Admit(Due(("b", 2), ("c", 1)), Now.AddSeconds(2), out more));
        Assert.False(more);
    }

    [Fact]
    public void Nothing_waits_when_all_due_messages_fit()
    {
        var active = new ActiveQueue(10, TimeSpan.FromMinutes(5));
        Assert.Equal(3, active.Admit(Due(("a", 3), ("b", 2), ("c", 1)), Now, out var more).Count);
        Assert.False(more);
    }

    [Fact]
    public void A_wake_never_answered_frees_its_place_after_the_timeout_and_clear_frees_all()
    {
        var active = new ActiveQueue(1, TimeSpan.FromMinutes(5));
        Assert.Equal(["a"], active.Admit(Due(("a", 2), ("b", 1)), Now, out _));
        Assert.Empty(active.Admit(Due(("b", 1)), Now.AddMinutes(4), out _));
        Assert.Equal(["b"], active.Admit(Due(("b", 1)), Now.AddMinutes(6), out _));

        active.Clear();
        Assert.Equal(0, active.Count);
        Assert.Equal(["a"], active.Admit(Due(("a", 2)), Now.AddMinutes(6), out _));
    }
}
