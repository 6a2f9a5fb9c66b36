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

    [Fact]
    public async Task Rows_of_other_tags_are_passed_over_also_when_whole_reads_hold_nothing_else()
    {
        JournalAccepted("first", "node-a", "bob@rcpt.example");
        JournalAccepted("second", "node-a", "bob@rcpt.example");
        for (var i = 0; i < 10; i++)
            await ExecuteAsync($"INSERT INTO tags (ordering_id, tag, sequence_nr, persistence_id) VALUES ({1_000_000 + i}, 'other', 1, 'someone-else')");

        var read = await new QueueJournalReader(Settings).ReadAfterAsync(0, 5, Sys.Serialization);

        Assert.Equal(["msg-first", "msg-second"], read.Events.Select(e => e.PersistenceId));
        Assert.False(read.More);
    }

    [Fact]
    public async Task The_tag_read_is_a_range_on_the_tag_tables_key_not_a_pass_over_every_queue_row()
    {
        for (var i = 0; i < 100; i++) JournalAccepted($"m{i:D3}", "node-a", "bob@rcpt.example");
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection(Settings.ConnectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "EXPLAIN QUERY PLAN " + QueueJournalReader.TagRowsAfter(5000).Replace("@from", "50");
        var plan = new List<string>();
        await using (var reader = await command.ExecuteReaderAsync())
            while (await reader.ReadAsync()) plan.Add(reader.GetString(3));

        // The primary key (ordering_id, tag) in order: no index on the tag, no sort.
        Assert.Equal("SEARCH tags USING INDEX sqlite_autoindex_tags_1 (ordering_id>?)", Assert.Single(plan));
    }
}
