using ActorGateway.Gateway.Tests.Support;
using ActorGateway.Mail.Delivery;
using ActorGateway.Node.Pipeline;
using ActorGateway.Testing;
using Akka.Actor;

namespace ActorGateway.Gateway.Tests.Storage;

/// <summary>
/// A message's events are written by whichever node runs it at the time: the intake of the
/// node that accepted it, then its entity, which moves with its shard on a failover, possibly
/// back to the first node. Each node's journal stamps its own writer id. Recovery must see every
/// event whatever the order of writers (A, B, A here); a completed message that looked pending
/// after a failover was delivered a second time.
/// </summary>
[Collection(JournalCollection.Name)]
public sealed class ReplayAcrossNodesTests
{
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task Sqlite_a_message_written_by_nodes_A_B_A_recovers_complete()
    {
        using var dir = new TempDirectory();
        await RecoversCompleteAsync($"gateway.data-dir = \"{dir.Path}\"", dir.Path);
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
    }

    [Fact]
    public async Task PostgreSql_a_message_written_by_nodes_A_B_A_recovers_complete()
    {
        await using var pg = await PostgresServer.StartAsync();
        using var dir = new TempDirectory();
        await RecoversCompleteAsync($"gateway.storage {{ provider = postgresql, connection-string = \"{pg.ConnectionString()}\" }}", dir.Path);
    }

    static async Task RecoversCompleteAsync(string storage, string dataDir)
    {
        // Two nodes' journals on one database: each journal instance has its own writer id.
        var config = JournalTestKit.SystemConfig(dataDir, "akka.actor.provider = local\n" + storage);
        using var a = ActorSystem.Create("node-a", config);
        using var b = ActorSystem.Create("node-b", config);
        const string id = "ABA1";
        var now = DateTimeOffset.UtcNow;

        // Node A's intake accepts it; node B's entity defers it; node A (the entity back there) delivers it.
        JournalTestKit.Journal(a, id, 1, new MessageAccepted(id, JournalTestKit.Envelope("bob@rcpt.example"), "Subject: t\r\n\r\nb\r\n"u8.ToArray()),
            QueueTags.Queued);
        JournalTestKit.Journal(b, id, 2, new AttemptRecorded(1, now,
            [new RecipientResult("bob@rcpt.example", RecipientStatus.Deferred, "4.2.1", "smtp; 421 4.2.1 try later", "mx.rcpt.example")],
            "mx.rcpt.example", null, now.AddHours(1)), QueueTags.Attempted);
        JournalTestKit.Journal(a, id, 3, new AttemptRecorded(2, now,
            [new RecipientResult("bob@rcpt.example", RecipientStatus.Delivered, "2.0.0", "smtp; 250 2.0.0 Ok", "mx.rcpt.example")],
            "mx.rcpt.example", null, null, Completes: true), QueueTags.Attempted, QueueTags.Done);

        // Recovered on either node: done, nothing pending (it must not be delivered again).
        foreach (var system in new[] { b, a })
        {
            var services = new MessageServices(new Dictionary<string, IActorRef>(), new GatewayMail(() => ActorRefs.Nobody, "gw.test"), RetrySchedule.Default,
                new ActorGateway.Node.Delivery.DeliveryTimeouts(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(30)), TlsPolicy.None, TimeSpan.FromSeconds(1));
            var entity = system.ActorOf(MessageActor.Props(id, services));
            var details = await entity.Ask<MessageDetails>(new GetMessageDetails(id), Timeout);
            Assert.Equal("done", details.State);
            Assert.Empty(details.Pending);
            Assert.Equal([1, 2], details.Attempts.Select(x => x.Attempt));
            await entity.GracefulStop(Timeout);
        }
    }
}
