using System.Diagnostics;
using ActorGateway.Gateway.Tests.Support;
using ActorGateway.Node.Pipeline;
using ActorGateway.Node.Queue;
using ActorGateway.Node.Retention;
using Akka.Actor;

namespace ActorGateway.Gateway.Tests.Queue;

/// <summary>
/// Whom the queue sweeper leaves new mail to: the node incarnation that accepted it makes its
/// first attempt, so the sweeper does not wake the mail while that node is a member. It wakes
/// it at once when the node has restarted (same address, new uid), and 10 s after receipt when
/// the node was never seen as a member (it may still have been joining). One actor on the real
/// journal, in a one-node cluster; the shard region is a probe.
/// </summary>
[Collection(JournalCollection.Name)]
public sealed class QueueSweeperTests() : JournalTestKit("sweeper-test", "akka.actor.provider = cluster")
{
    void Accepted(string queueId, string acceptedBy) => JournalAccepted(queueId, acceptedBy, "bob@rcpt.example");

    /// <summary>As the intake writes a message whose first attempt delivered it (Message-ID c@test).</summary>
    void Delivered(string queueId, string acceptedBy)
    {
        Accepted(queueId, acceptedBy);
        var attempt = new AttemptRecorded(1, DateTimeOffset.UtcNow, [new RecipientResult("bob@rcpt.example", ActorGateway.Mail.Delivery.RecipientStatus.Delivered, "2.0.0",
            "smtp; 250 2.0.0 Ok", "mx.rcpt.example")], "mx.rcpt.example", null, null, Completes: true);
        var message = new MessageLifecycle(queueId);
        message.Apply(new MessageAccepted(queueId, Envelope("bob@rcpt.example"), "Message-ID: <c@test>\r\n\r\nb\r\n"u8.ToArray()));
        var events = message.EventsOf(attempt);
        for (var i = 0; i < events.Count; i++) Journal(Sys, queueId, 2 + i, events[i].Payload, [.. events[i].Tags]);
    }

    /// <summary>This actor system as a cluster of one, Up (the sweeper reads the members).</summary>
    async Task<Akka.Cluster.Cluster> OneNodeClusterAsync()
    {
        var cluster = Akka.Cluster.Cluster.Get(Sys);
        cluster.Join(cluster.SelfAddress);
        await AwaitConditionAsync(() => Task.FromResult(cluster.SelfMember.Status == Akka.Cluster.MemberStatus.Up), TimeSpan.FromSeconds(20));
        return cluster;
    }

    [Fact]
    public async Task New_mail_is_left_to_its_living_acceptor_woken_at_once_after_its_restart_and_after_10_s_for_a_node_never_seen()
    {
        var cluster = await OneNodeClusterAsync();

        var self = MessageIntake.NodeOf(cluster.SelfUniqueAddress);
        Accepted("alive", self);                                                           // its acceptor is a member
        Accepted("restarted", $"{cluster.SelfAddress}#{cluster.SelfUniqueAddress.Uid + 1}"); // an earlier incarnation of this address
        Accepted("unknown", "akka.tcp://sweeper-test@127.0.0.9:2552#7");                     // never seen as a member
        var accepted = Stopwatch.StartNew();

        var region = CreateTestProbe();
        Sys.ActorOf(QueueSweeper.Props(region.Ref, new QueueJournalReader(Settings), Pending, TimeSpan.FromMilliseconds(500), firstAttemptTimeout: TimeSpan.FromMinutes(10)));

        var firstWake = new Dictionary<string, TimeSpan>();
        while (accepted.Elapsed < TimeSpan.FromSeconds(14))
        {
            var wake = region.ReceiveOne(TimeSpan.FromMilliseconds(200));
            if (wake is WakeMessage w) firstWake.TryAdd(w.QueueId, accepted.Elapsed);
        }

        Assert.True(firstWake.TryGetValue("restarted", out var restarted) && restarted < TimeSpan.FromSeconds(5),
            $"mail of a restarted acceptor woken at {restarted}");
        Assert.True(firstWake.TryGetValue("unknown", out var unknown) && unknown >= TimeSpan.FromSeconds(9) && unknown < TimeSpan.FromSeconds(13),
            $"mail of a node never seen woken at {unknown}");
        Assert.False(firstWake.ContainsKey("alive"), "mail of a living acceptor was woken before its first attempt could have ended");
    }

    [Fact]
    public async Task A_completed_message_that_a_crash_left_in_the_journal_is_deleted_by_the_next_sweeper_with_its_record_kept()
    {
        var cluster = await OneNodeClusterAsync();

        // As the intake writes a message whose first attempt delivered it; the node died before a sweep deleted it.
        Delivered("crashed", MessageIntake.NodeOf(cluster.SelfUniqueAddress));
        Accepted("pending", MessageIntake.NodeOf(cluster.SelfUniqueAddress)); // not done: stays

        var store = new DeliveryRecordStore(Settings);
        await store.CreateTablesAsync(); // as the node does at start-up
        var region = CreateTestProbe();
        Sys.ActorOf(QueueSweeper.Props(region.Ref, new QueueJournalReader(Settings), Pending, TimeSpan.FromMilliseconds(500), TimeSpan.FromMinutes(10), store));

        await AwaitAssertAsync(async () => Assert.NotNull(await store.GetAsync("crashed")), TimeSpan.FromSeconds(10));
        var record = (await store.GetAsync("crashed"))!;
        Assert.Equal("c@test", record.MessageId);
        Assert.Equal(ActorGateway.Mail.Delivery.RecipientStatus.Delivered, record.Recipients.Single().Status);
        Assert.Equal(0, await CountAsync("SELECT COUNT(*) FROM journal WHERE persistence_id = 'msg-crashed'"));
        Assert.Equal(0, await CountAsync("SELECT COUNT(*) FROM tags WHERE persistence_id = 'msg-crashed'"));
        Assert.Equal(1, await CountAsync("SELECT COUNT(*) FROM journal WHERE persistence_id = 'msg-pending'"));
        // A done message is not woken for delivery.
        Assert.DoesNotContain(region.ReceiveWhile<object>(TimeSpan.FromSeconds(1.5), m => m), m => m is WakeMessage { QueueId: "crashed" });
    }

    [Fact]
    public async Task Completed_mail_is_deleted_every_delete_interval_while_due_mail_is_woken_only_every_sweep_interval()
    {
        var cluster = await OneNodeClusterAsync();
        var store = new DeliveryRecordStore(Settings);
        await store.CreateTablesAsync();
        var region = CreateTestProbe();
        var sweeper = Sys.ActorOf(QueueSweeper.Props(region.Ref, new QueueJournalReader(Settings), Pending, TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(10), store,
            deleteInterval: TimeSpan.FromMilliseconds(300)));
        await sweeper.Ask<PendingMessages>(new GetPendingMessages(), TimeSpan.FromSeconds(10)); // loaded, its first sweep and wake done or under way
        await Task.Delay(1000);

        // After the first wake: done mail, and mail that is due at once (its acceptor restarted).
        Delivered("done", MessageIntake.NodeOf(cluster.SelfUniqueAddress));
        Accepted("due", $"{cluster.SelfAddress}#{cluster.SelfUniqueAddress.Uid + 1}");
        var written = Stopwatch.StartNew();

        // Deleted within a few delete intervals, not at the next sweep 30 s on.
        await AwaitAssertAsync(async () => Assert.NotNull(await store.GetAsync("done")), TimeSpan.FromSeconds(5));
        Assert.Equal(0, await CountAsync("SELECT COUNT(*) FROM journal WHERE persistence_id = 'msg-done'"));
        Assert.True(written.Elapsed < TimeSpan.FromSeconds(5), $"deleted after {written.Elapsed}");
        // The same reads found the due mail, but it waits for the wake.
        var pending = await sweeper.Ask<PendingMessages>(new GetPendingMessages(QueueId: "due"), TimeSpan.FromSeconds(5));
        Assert.True(pending.Pending.ContainsKey("due"));
        region.ExpectNoMsg(TimeSpan.FromSeconds(2));
    }

    [Fact]
    public async Task Mail_due_while_its_destination_is_known_paused_is_deferred_without_a_wake_and_mail_tried_for_real_is_woken()
    {
        var cluster = await OneNodeClusterAsync();
        var self = MessageIntake.NodeOf(cluster.SelfUniqueAddress);
        var now = DateTimeOffset.UtcNow;
        static RecipientResult Paused(string to, DateTimeOffset until) => new(to, ActorGateway.Mail.Delivery.RecipientStatus.Deferred, "4.4.1",
            "x-gateway; not attempted: rcpt.example paused", null, NotAttempted: true, Paused: true, PausedUntil: until);
        void Attempted(string id, DateTimeOffset next, RecipientResult result) =>
            Journal(Sys, id, 2, new AttemptRecorded(1, now.AddSeconds(-30), [result], null, null, next, Pool: Pools.Good), QueueTags.Attempted);

        // Due now: "held" found rcpt.example paused (that pause is over), "renewer" found it paused again for an hour.
        Accepted("held", self);
        Attempted("held", now, Paused("bob@rcpt.example", now.AddSeconds(-1)));
        Accepted("renewer", self);
        Attempted("renewer", now.AddHours(1), Paused("carol@rcpt.example", now.AddHours(1)));
        // Due now too, but its last attempt reached for the receiver (refused): woken as ever.
        Accepted("tried", self);
        Attempted("tried", now, new RecipientResult("dave@rcpt.example", ActorGateway.Mail.Delivery.RecipientStatus.Deferred, "4.4.1",
            "x-gateway; connection refused", null));

        var region = CreateTestProbe();
        var sweeper = Sys.ActorOf(QueueSweeper.Props(region.Ref, new QueueJournalReader(Settings), Pending, TimeSpan.FromMilliseconds(500), TimeSpan.FromMinutes(10)));

        Assert.Equal("tried", region.ExpectMsg<WakeMessage>(TimeSpan.FromSeconds(10)).QueueId);
        Assert.DoesNotContain(region.ReceiveWhile<object>(TimeSpan.FromSeconds(3), m => m), m => m is WakeMessage { QueueId: "held" or "renewer" });
        var held = await sweeper.Ask<PendingMessages>(new GetPendingMessages(QueueId: "held"), TimeSpan.FromSeconds(5));
        // Its next retry (1 min after receipt) falls in the pause: not before the pause ends.
        Assert.True(held.Pending["held"] >= now.AddHours(1), $"held until {held.Pending["held"]}");
        Assert.Equal([new PausedDestination(Pools.Good, "rcpt.example", now.AddHours(1))], held.Paused);
        Assert.Single(held.Pending);
    }

    [Fact]
    public async Task A_backlog_due_at_once_is_woken_no_more_than_the_active_limit_at_a_time_and_a_finished_message_frees_a_place()
    {
        var cluster = await OneNodeClusterAsync();
        // Accepted by a node incarnation that restarted since: due at once, as after a restart under a full queue.
        var gone = $"{cluster.SelfAddress}#{cluster.SelfUniqueAddress.Uid + 1}";
        for (var i = 0; i < 5; i++) Accepted($"backlog-{i}", gone);

        var region = CreateTestProbe();
        Sys.ActorOf(QueueSweeper.Props(region.Ref, new QueueJournalReader(Settings), Pending, TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(10), activeLimit: 2));

        var first = new[] { region.ExpectMsg<WakeMessage>(TimeSpan.FromSeconds(10)), region.ExpectMsg<WakeMessage>(TimeSpan.FromSeconds(5)) };
        var sweeper = region.LastSender;
        region.ExpectNoMsg(TimeSpan.FromSeconds(2.5)); // the refill sweeps find no free place
        // One of them is done: the next refill wakes one more, and only one.
        sweeper.Tell(new MessageIsDone(first[0].QueueId), region.Ref);
        var third = region.ExpectMsg<WakeMessage>(TimeSpan.FromSeconds(5));
        Assert.DoesNotContain(third.QueueId, first.Select(w => w.QueueId));
        region.ExpectNoMsg(TimeSpan.FromSeconds(2.5));
    }
    [Fact]
    public async Task An_event_that_commits_after_a_later_one_was_read_is_seen_at_the_next_sweep_not_only_at_the_reconcile()
    {
        var cluster = await OneNodeClusterAsync();
        var gone = $"{cluster.SelfAddress}#{cluster.SelfUniqueAddress.Uid + 1}"; // due at once

        // "late" gets its ordering first but becomes visible only after "after" was read, as a
        // PostgreSQL insert that commits after a later one does: its rows are held aside meanwhile.
        Accepted("late", gone);
        await ExecuteAsync("""
            CREATE TABLE held_journal AS SELECT * FROM journal WHERE persistence_id = 'msg-late';
            CREATE TABLE held_tags AS SELECT * FROM tags WHERE persistence_id = 'msg-late';
            DELETE FROM tags WHERE persistence_id = 'msg-late'; DELETE FROM journal WHERE persistence_id = 'msg-late';
            """);
        Accepted("after", gone);

        var region = CreateTestProbe();
        Sys.ActorOf(QueueSweeper.Props(region.Ref, new QueueJournalReader(Settings), Pending, TimeSpan.FromMilliseconds(500), TimeSpan.FromMinutes(10)));
        Assert.Equal("after", region.ExpectMsg<WakeMessage>(TimeSpan.FromSeconds(10)).QueueId);

        await ExecuteAsync("INSERT INTO journal SELECT * FROM held_journal; INSERT INTO tags SELECT * FROM held_tags;");
        // Well before the reconcile's re-read (60 s).
        region.FishForMessage(m => m is WakeMessage { QueueId: "late" }, TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task The_pending_set_is_loaded_from_its_table_kept_there_change_by_change_and_an_older_checkpoints_set_moves_into_it()
    {
        var cluster = await OneNodeClusterAsync();
        var self = MessageIntake.NodeOf(cluster.SelfUniqueAddress); // left to their first attempt: not woken

        // A checkpoint as written before the table existed, with its pending set in it.
        var snapshots = CreateTestProbe();
        Akka.Persistence.Persistence.Instance.Apply(Sys).SnapshotStoreFor(null).Tell(new Akka.Persistence.SaveSnapshot(
            new Akka.Persistence.SnapshotMetadata("queue-sweeper", 1, DateTime.UtcNow),
            new QueueCheckpoint(0, 0, 0, new Dictionary<string, DateTimeOffset?> { ["old"] = DateTimeOffset.UtcNow.AddHours(1) })), snapshots.Ref);
        snapshots.ExpectMsg<Akka.Persistence.SaveSnapshotSuccess>(TimeSpan.FromSeconds(10));
        // A row only the table knows (its journal events are behind the checkpoint's offset).
        var store = Pending;
        await store.SaveAsync([new PendingEntry("tabled", DateTimeOffset.UtcNow.AddHours(1), DateTimeOffset.UtcNow.AddMinutes(-5), null)], []);
        Accepted("a", self);
        Accepted("b", self);

        var region = CreateTestProbe();
        var sweeper = Sys.ActorOf(QueueSweeper.Props(region.Ref, new QueueJournalReader(Settings), store, TimeSpan.FromMilliseconds(500), TimeSpan.FromMinutes(10)));
        async Task<string[]> Tabled() => (await store.LoadAsync()).Select(e => e.QueueId).Order().ToArray();
        await AwaitAssertAsync(async () =>
        {
            var pending = await sweeper.Ask<PendingMessages>(new GetPendingMessages(), TimeSpan.FromSeconds(5));
            Assert.Equal(["a", "b", "old", "tabled"], pending.Pending.Keys.Order().ToArray());
        }, TimeSpan.FromSeconds(10));
        // The next checkpoint (every 5 s at most) writes what the journal and the old checkpoint brought.
        await AwaitAssertAsync(async () => Assert.Equal(["a", "b", "old", "tabled"], await Tabled()), TimeSpan.FromSeconds(15));
        // Asked for part (a scrape, a listing): the first by queue id, with the whole queue's count and earliest due time.
        var part = await sweeper.Ask<PendingMessages>(new GetPendingMessages(1), TimeSpan.FromSeconds(5));
        Assert.Equal(["a"], part.Pending.Keys);
        Assert.Equal(4, part.Total);
        Assert.NotNull(part.EarliestDue);
        var a = (await store.LoadAsync()).Single(e => e.QueueId == "a");
        Assert.Equal(self, a.AcceptedBy);
        Assert.NotNull(a.Received);

        sweeper.Tell(new MessageIsDone("a"), region.Ref);
        await AwaitAssertAsync(async () => Assert.Equal(["b", "old", "tabled"], await Tabled()), TimeSpan.FromSeconds(15));

        // A sweeper started again (a failover) has the same set, the done message not among it.
        await sweeper.GracefulStop(TimeSpan.FromSeconds(10));
        var again = Sys.ActorOf(QueueSweeper.Props(region.Ref, new QueueJournalReader(Settings), store, TimeSpan.FromMilliseconds(500), TimeSpan.FromMinutes(10)));
        await AwaitAssertAsync(async () =>
        {
            var pending = await again.Ask<PendingMessages>(new GetPendingMessages(), TimeSpan.FromSeconds(5));
            Assert.Equal(["b", "old", "tabled"], pending.Pending.Keys.Order().ToArray());
        }, TimeSpan.FromSeconds(10));
    }
}
