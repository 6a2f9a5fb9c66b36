using ActorGateway.Gateway.Tests.Support;
using ActorGateway.Mail.Delivery;
using ActorGateway.Node.Pipeline;
using ActorGateway.Node.Queue;

namespace ActorGateway.Gateway.Tests.Queue;

/// <summary>
/// The sweeper's read of the journal: every queue event past an offset in journal order, with
/// payloads only where the sweeper needs them (done events, and messages not done in the same
/// read), in pieces when a backlog is larger than one read. On the real SQLite journal.
/// </summary>
[Collection(JournalCollection.Name)]
public sealed class QueueJournalReaderTests() : JournalTestKit("reader-test")
{
    [Fact]
    public async Task Reads_tags_in_journal_order_and_skips_the_payloads_of_messages_done_in_the_same_read()
    {
        JournalAccepted("delivered", "node-a", "bob@rcpt.example");
        var attempt = new AttemptRecorded(1, DateTimeOffset.UtcNow, [new RecipientResult("bob@rcpt.example", RecipientStatus.Delivered, "2.0.0",
            "smtp; 250 2.0.0 Ok", "mx.rcpt.example")], "mx.rcpt.example", null, null, Completes: true);
        Journal(Sys, "delivered", 2, attempt, QueueTags.Attempted);
        Journal(Sys, "delivered", 3, new MessageCompleted(DateTimeOffset.UtcNow), QueueTags.Done);
        JournalAccepted("waiting", "node-a", "carol@rcpt.example");

        var reader = new QueueJournalReader(Settings);
        var read = await reader.ReadAfterAsync(0, 1000, Sys.Serialization);

        Assert.False(read.More);
        Assert.Equal(["msg-delivered/queued", "msg-delivered/attempted", "msg-delivered/done", "msg-waiting/queued"],
            read.Events.Select(e => $"{e.PersistenceId}/{e.Tag}"));
        Assert.True(read.Events.Zip(read.Events.Skip(1)).All(p => p.Item1.Ordering < p.Item2.Ordering));
        // The delivered message's body is not read back; its done event is, and the waiting message's acceptance.
        Assert.Null(read.Events[0].Event);
        Assert.Null(read.Events[1].Event);
        Assert.IsType<MessageCompleted>(read.Events[2].Event);
        // An acceptance comes without its body: what the sweeper needs of it only.
        var head = Assert.IsType<QueuedHead>(read.Events[3].Event);
        Assert.Equal(("waiting", "node-a"), (head.QueueId, head.AcceptedBy));
        Assert.True(DateTimeOffset.UtcNow - head.Envelope.ReceivedAt < TimeSpan.FromMinutes(1));

        // From an offset on: only what came after it.
        var after = await reader.ReadAfterAsync(read.Events[2].Ordering, 1000, Sys.Serialization);
        Assert.Equal("msg-waiting", Assert.Single(after.Events).PersistenceId);
    }

    [Fact]
    public async Task A_backlog_larger_than_one_read_comes_in_pieces_that_together_hold_every_event_once()
    {
        for (var i = 0; i < 1_200; i++) JournalAccepted($"m{i:D5}", "node-a", "bob@rcpt.example");
        var reader = new QueueJournalReader(Settings);

        var seen = new List<QueueEvent>();
        long offset = 0;
        var reads = 0;
        while (true)
        {
            var read = await reader.ReadAfterAsync(offset, 500, Sys.Serialization);
            reads++;
            seen.AddRange(read.Events);
            if (read.Events.Count > 0) offset = read.Events[^1].Ordering;
            if (!read.More) break;
        }

        Assert.Equal(1_200, seen.Select(e => e.PersistenceId).Distinct().Count());
        Assert.Equal(1_200, seen.Count);
        Assert.Equal(3, reads);
        Assert.All(seen, e => Assert.IsType<QueuedHead>(e.Event));
    }
}
