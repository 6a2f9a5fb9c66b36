using ActorGateway.Node.Pipeline;
using ActorGateway.Node.Queue;

namespace ActorGateway.Gateway.Tests.Queue;

public sealed class QueueSummaryTests
{
    static readonly DateTimeOffset Now = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    static MessageDetails Message(string id, string state, string tenant, string pool, DateTimeOffset received, params string[] pending) =>
        new(id, state, new MessageEnvelope(tenant, "a@sender.example", pending.Select(p => new QueuedRecipient(p, 0, null)).ToArray(), null,
            false, false, received, "127.0.0.1", false, pool), 100, pending, [], null);

    [Fact]
    public void Counts_by_state_tenant_pool_and_destination_domain_once_per_message()
    {
        var pending = new PendingMessages(new Dictionary<string, DateTimeOffset?> { ["A"] = null, ["B"] = null, ["C"] = null, ["D"] = null }, Now, Now.AddMinutes(-30), 4, null);
        var summary = QueueSummary.Of(pending, [
            Message("A", "deferred", "local", "good", Now.AddMinutes(-30), "x@Rcpt.example", "y@rcpt.example", "z@other.example"),
            Message("B", "deferred", "local", "bad", Now.AddMinutes(-5), "x@rcpt.example"),
            Message("C", "held", "authed", "good", Now.AddMinutes(-1), "x@other.example"),
            new MessageDetails("D", "unknown", null, 0, [], [], null), // gone meanwhile
        ]);

        Assert.Equal(4, summary.Total);
        Assert.Equal(3, summary.Examined);
        // The total is the sweeper's, also when it sent only part of a large queue.
        Assert.Equal(90_000, QueueSummary.Of(pending with { Total = 90_000 }, []).Total);
        Assert.Equal(1800, summary.OldestAgeSeconds);
        Assert.Equal(new Dictionary<string, int> { ["deferred"] = 2, ["held"] = 1 }, summary.ByState);
        Assert.Equal(new Dictionary<string, int> { ["local"] = 2, ["authed"] = 1 }, summary.ByTenant);
        Assert.Equal(new Dictionary<string, int> { ["good"] = 2, ["bad"] = 1 }, summary.ByPool);
        Assert.Equal(new Dictionary<string, int> { ["other.example"] = 2, ["rcpt.example"] = 2 }, summary.ByDestination);
        Assert.Equal(["deferred", "held"], summary.ByState.Keys); // most first
    }

    [Fact]
    public void Without_the_sweepers_oldest_the_oldest_examined_message_stands_in_and_an_empty_queue_has_no_age()
    {
        var pending = new PendingMessages(new Dictionary<string, DateTimeOffset?> { ["A"] = null }, Now, null, 1, null);
        Assert.Equal(120, QueueSummary.Of(pending, [Message("A", "queued", "local", "good", Now.AddMinutes(-2), "x@rcpt.example")]).OldestAgeSeconds);

        var none = QueueSummary.Of(new PendingMessages(new Dictionary<string, DateTimeOffset?>(), Now, null, 0, null), []);
        Assert.Equal(0, none.Total);
        Assert.Null(none.OldestAgeSeconds);
        Assert.Empty(none.ByDestination);
    }
}
