using ActorGateway.Gateway.Tests.Support;
using ActorGateway.Node.Pipeline;
using ActorGateway.Testing;
using Akka.Actor;
using Akka.Persistence;
using Akka.Persistence.Journal;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Akka.Streams.Dsl;

namespace ActorGateway.Gateway.Tests.Storage;

/// <summary>
/// The gateway's journal on a real database, configured as the node configures it: SQLite for the
/// embedded default (SqliteJournal), PostgreSQL for the cluster (PostgresJournal). Events come back
/// in order after a restart, the plugin's read journal sees what it wrote, concurrent writers are
/// all stored, a bad write fails alone, deletes keep the highest sequence number. That a 250
/// survives kill -9 is RestartSafetyTests' part.
/// </summary>
// Alone (run after the parallel tests). The concurrent-writers case has timed out in CI four times
// (one 20 s ask each), never when run by itself; cause not found yet, so a failed write answers with
// its cause and an unanswered one reports what the journal holds.
[Collection(JournalCollection.Name)]
public sealed class SqliteJournalTests() : JournalContractTests("akka.actor.provider = local");

[Collection(JournalCollection.Name)]
public sealed class PostgresJournalTests(PostgresJournalTests.Database database) : JournalContractTests(
    $"akka.actor.provider = local\ngateway.storage {{ provider = postgresql, connection-string = \"{database.Server.ConnectionString()}\" }}"),
    IClassFixture<PostgresJournalTests.Database>
{
    /// <summary>One server for the class; each case uses persistence ids of its own.</summary>
    public sealed class Database : IAsyncLifetime
    {
        public PostgresServer Server { get; private set; } = null!;
        public async Task InitializeAsync() => Server = await PostgresServer.StartAsync();
        public async Task DisposeAsync() => await Server.DisposeAsync();
    }
}

public abstract class JournalContractTests(string hocon) : JournalTestKit("journal-test", hocon)
{
    /// <summary>Persists what it is told (tagged), answers with its sequence number; recovers the events it had.</summary>
    sealed class Entity : ReceivePersistentActor
    {
        readonly List<object> _events = [];
        public override string PersistenceId { get; }
        public sealed record Store(object Event, string[] Tags);
        public sealed class Events { public static readonly Events Instance = new(); }

        IActorRef _asker = ActorRefs.Nobody;

        public Entity(string id)
        {
            PersistenceId = id;
            Recover<object>(e => { if (e is not RecoveryCompleted) _events.Add(e); });
            Command<Store>(s =>
            {
                _asker = Sender;
                Persist(new Tagged(s.Event, s.Tags), e => { _events.Add(s.Event); Sender.Tell(LastSequenceNr); });
            });
            Command<Events>(_ => Sender.Tell(_events.ToArray()));
            CommandAny(_ => { });
        }

        // A failed write answers at once with its cause, rather than leaving the asker to time out.
        protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
        {
            _asker.Tell(new Status.Failure(new InvalidOperationException($"{PersistenceId}: write {sequenceNr} failed", cause)));
            base.OnPersistFailure(cause, @event, sequenceNr);
        }

        // A failed recovery stops the entity and drops what it had stashed, so its asker would only
        // time out; the cause is kept for the test's message.
        public static readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> RecoveryFailures = new();

        protected override void OnRecoveryFailure(Exception reason, object? message = null)
        {
            RecoveryFailures[PersistenceId] = $"{reason.GetType().Name}: {reason.Message}";
            base.OnRecoveryFailure(reason, message);
        }

        protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
        {
            _asker.Tell(new Status.Failure(new InvalidOperationException($"{PersistenceId}: write {sequenceNr} rejected", cause)));
            base.OnPersistRejected(cause, @event, sequenceNr);
        }
    }

    static MessageCompleted Event(int n) => new(DateTimeOffset.FromUnixTimeSeconds(n));

    [Fact]
    public async Task Events_come_back_in_order_after_a_restart_and_the_plugins_read_journal_sees_their_tags()
    {
        var a = Sys.ActorOf(Props.Create(() => new Entity("a")));
        for (var i = 1; i <= 5; i++)
            Assert.Equal((long)i, await a.Ask<long>(new Entity.Store(Event(i), i % 2 == 0 ? ["even", "any"] : ["any"]), TimeSpan.FromSeconds(10)));
        await a.GracefulStop(TimeSpan.FromSeconds(5));

        var again = Sys.ActorOf(Props.Create(() => new Entity("a")));
        var events = await again.Ask<object[]>(Entity.Events.Instance, TimeSpan.FromSeconds(10));
        Assert.Equal(Enumerable.Range(1, 5).Select(Event).Cast<object>(), events);
        // Goes on after its highest sequence number.
        Assert.Equal(6L, await again.Ask<long>(new Entity.Store(Event(6), []), TimeSpan.FromSeconds(10)));

        var query = PersistenceQuery.Get(Sys).ReadJournalFor<SqlReadJournal>(SqlReadJournal.Identifier);
        var even = await query.CurrentEventsByTag("even", Offset.NoOffset()).RunWith(Sink.Seq<EventEnvelope>(), Sys.Materializer());
        Assert.Equal([2L, 4L], even.Select(e => e.SequenceNr));
        Assert.Equal([Event(2), Event(4)], even.Select(e => (MessageCompleted)e.Event));
        var any = await query.CurrentEventsByTag("any", Offset.NoOffset()).RunWith(Sink.Seq<EventEnvelope>(), Sys.Materializer());
        Assert.Equal(5, any.Count);
    }

    [Fact]
    public async Task Many_concurrent_writers_are_all_stored_each_in_its_own_order()
    {
        // One recovery and write first, with a longer wait: the last CI failure hung before any event
        // was stored (0 rows after 22 s, the 40 first recoveries all waiting), which is not what this
        // case tests; why the stores' first use waited is not explained yet.
        var first = Sys.ActorOf(Props.Create(() => new Entity("c-first")));
        Assert.Equal(1L, await first.Ask<long>(new Entity.Store(Event(1), ["first"]), TimeSpan.FromSeconds(60)));
        var entities = Enumerable.Range(0, 40).Select(i => Sys.ActorOf(Props.Create(() => new Entity($"c{i}")))).ToArray();
        var started = System.Diagnostics.Stopwatch.StartNew();
        var writes = entities.Select(async (e, i) =>
        {
            for (var n = 1; n <= 10; n++)
            {
                var asked = started.Elapsed;
                try
                {
                    Assert.Equal((long)n, await e.Ask<long>(new Entity.Store(Event(n), ["concurrent"]), TimeSpan.FromSeconds(20)));
                }
                catch (AskTimeoutException timeout)
                {
                    // What the journal holds tells a lost answer from a write that never happened.
                    var stored = await CountAsync($"SELECT count(*) FROM journal WHERE persistence_id = 'c{i}'");
                    ThreadPool.GetAvailableThreads(out var available, out _);
                    throw new TimeoutException($"c{i} write {n}, asked at {asked.TotalSeconds:F1} s, unanswered at {started.Elapsed.TotalSeconds:F1} s; " +
                        $"the journal holds {stored} of its events, {await CountAsync("SELECT count(*) FROM journal")} in all; " +
                        $"recovery: {(Entity.RecoveryFailures.TryGetValue($"c{i}", out var failed) ? "failed, " + failed : "no failure reported")}; " +
                        $"thread pool: {ThreadPool.ThreadCount} threads, {available} available, {ThreadPool.PendingWorkItemCount} items queued", timeout);
                }
            }
        });
        await Task.WhenAll(writes);
        foreach (var e in entities) await e.GracefulStop(TimeSpan.FromSeconds(5));
        for (var i = 0; i < 40; i++)
        {
            var id = i;
            var events = await Sys.ActorOf(Props.Create(() => new Entity($"c{id}"))).Ask<object[]>(Entity.Events.Instance, TimeSpan.FromSeconds(10));
            Assert.Equal(Enumerable.Range(1, 10).Select(Event).Cast<object>(), events);
        }
    }

    [Fact]
    public async Task A_write_with_a_sequence_number_already_taken_fails_alone_while_the_writes_beside_it_are_stored()
    {
        var journal = Persistence.Instance.Apply(Sys).JournalFor(null);
        Persistent At(string id, long seq, int n) => new(new Tagged(Event(n), ["dup"]), seq, id, writerGuid: "test", timestamp: DateTime.UtcNow.Ticks);
        var probe = CreateTestProbe();
        journal.Tell(new WriteMessages([new AtomicWrite(At("dup", 1, 1))], probe.Ref, 1));
        probe.ExpectMsg<WriteMessagesSuccessful>();
        probe.ExpectMsg<WriteMessageSuccess>();

        // The duplicate and three good writes, sent together: they land in one batch (without the
        // write-by-write retry of a failed batch, the good ones failed with the duplicate: tried).
        var probes = Enumerable.Range(0, 4).Select(_ => CreateTestProbe()).ToArray();
        journal.Tell(new WriteMessages([new AtomicWrite(At("dup", 1, 2))], probes[0].Ref, 1));
        for (var i = 1; i < 4; i++) journal.Tell(new WriteMessages([new AtomicWrite(At($"ok{i}", 1, i))], probes[i].Ref, 1));
        probes[0].ExpectMsg<WriteMessagesFailed>(TimeSpan.FromSeconds(10));
        for (var i = 1; i < 4; i++)
        {
            probes[i].ExpectMsg<WriteMessagesSuccessful>(TimeSpan.FromSeconds(10));
            probes[i].ExpectMsg<WriteMessageSuccess>();
        }
        var events = await Sys.ActorOf(Props.Create(() => new Entity("dup"))).Ask<object[]>(Entity.Events.Instance, TimeSpan.FromSeconds(10));
        Assert.Equal([Event(1)], events); // the first write, not the duplicate
    }

    [Fact]
    public async Task Deleting_up_to_a_sequence_number_leaves_the_later_events_and_the_highest_sequence_number()
    {
        var d = Sys.ActorOf(Props.Create(() => new Entity("d")));
        for (var i = 1; i <= 4; i++) await d.Ask<long>(new Entity.Store(Event(i), ["deleting"]), TimeSpan.FromSeconds(10));
        var journal = Persistence.Instance.Apply(Sys).JournalFor(null);
        journal.Tell(new DeleteMessagesTo("d", 4, TestActor));
        ExpectMsg<DeleteMessagesSuccess>(TimeSpan.FromSeconds(10));
        await d.GracefulStop(TimeSpan.FromSeconds(5));

        var again = Sys.ActorOf(Props.Create(() => new Entity("d")));
        Assert.Empty(await again.Ask<object[]>(Entity.Events.Instance, TimeSpan.FromSeconds(10)));
        Assert.Equal(5L, await again.Ask<long>(new Entity.Store(Event(5), []), TimeSpan.FromSeconds(10)));
        var query = PersistenceQuery.Get(Sys).ReadJournalFor<SqlReadJournal>(SqlReadJournal.Identifier);
        Assert.Empty(await query.CurrentEventsByTag("deleting", Offset.NoOffset()).RunWith(Sink.Seq<EventEnvelope>(), Sys.Materializer()));
    }
}
