using System.Data.Common;
using ActorGateway.Gateway.Tests.Support;
using ActorGateway.Mail.Delivery;
using ActorGateway.Node.Configuration;
using ActorGateway.Node.Pipeline;
using ActorGateway.Node.Retention;
using ActorGateway.Testing;
using Akka.Actor;

namespace ActorGateway.Gateway.Tests.Storage;

/// <summary>
/// Completed messages leave the journal (events, body, tags) in the same transaction that
/// stores their delivery records; records are found by every field an operator searches by and
/// removed after their retention. On real SQLite and real PostgreSQL, with the journal tables as
/// the node's persistence creates them.
/// </summary>
[Collection(JournalCollection.Name)]
public sealed class DeliveryRecordStoreTests
{
    [Fact]
    public async Task Sqlite_completed_messages_leave_the_journal_with_their_record_kept_searchable_and_pruned()
    {
        using var dir = new TempDirectory();
        var config = JournalTestKit.SystemConfig(dir.Path, "akka.actor.provider = local");
        var settings = GatewayConfig.Read(config);
        await CompletesSearchesAndPrunesAsync(config, settings);
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
    }

    [Fact]
    public async Task PostgreSql_completed_messages_leave_the_journal_with_their_record_kept_searchable_and_pruned()
    {
        await using var pg = await PostgresServer.StartAsync();
        using var dir = new TempDirectory();
        var config = JournalTestKit.SystemConfig(dir.Path,
            $"akka.actor.provider = local\ngateway.storage {{ provider = postgresql, connection-string = \"{pg.ConnectionString()}\" }}");
        await CompletesSearchesAndPrunesAsync(config, GatewayConfig.Read(config));
    }

    [Fact]
    public async Task PostgreSql_a_node_starting_while_another_writes_does_not_lock_the_existing_tables()
    {
        // CREATE INDEX IF NOT EXISTS locks its table before it looks: a node starting under load
        // waited for the others' open write transactions, and deadlocked with their journal writes.
        await using var pg = await PostgresServer.StartAsync();
        var cs = pg.ConnectionString();
        await new DeliveryRecordStore(StorageProvider.PostgreSql, cs).CreateTablesAsync();
        await using var writer = new Npgsql.NpgsqlConnection(cs);
        await writer.OpenAsync();
        await using var open = await writer.BeginTransactionAsync();
        await using (var insert = new Npgsql.NpgsqlCommand(
            "INSERT INTO delivery_records (queue_id, tenant, sender, received_at, completed_at, record) VALUES ('W1', 'local', 'a@b.example', 0, 0, '{}')", writer, open))
            await insert.ExecuteNonQueryAsync();

        // The other node starts while that transaction is open: its schema step returns at once.
        var starting = new DeliveryRecordStore(StorageProvider.PostgreSql, cs).CreateTablesAsync();
        Assert.Same(starting, await Task.WhenAny(starting, Task.Delay(TimeSpan.FromSeconds(10))));
        await starting;
        await open.CommitAsync();
    }

    [Fact]
    public async Task PostgreSql_nodes_starting_at_once_on_a_fresh_database_all_create_their_tables()
    {
        // Three sites started together on an empty database: without taking turns, two sessions
        // creating the same table failed on the catalog (pg_type's unique key) and a node did not start.
        await using var pg = await PostgresServer.StartAsync();
        for (var round = 0; round < 3; round++)
        {
            var db = $"fresh{round}";
            await using (var admin = new Npgsql.NpgsqlConnection(pg.ConnectionString()))
            {
                await admin.OpenAsync();
                await using var create = new Npgsql.NpgsqlCommand($"CREATE DATABASE {db}", admin);
                await create.ExecuteNonQueryAsync();
            }
            var cs = pg.ConnectionString(db);
            var nodes = Enumerable.Range(0, 6).Select(_ => Task.Run(async () =>
            {
                await new DeliveryRecordStore(StorageProvider.PostgreSql, cs).CreateTablesAsync();
                await new ActorGateway.Node.Queue.PendingQueueStore(StorageProvider.PostgreSql, cs).CreateTableAsync();
                await ActorGateway.Node.Storage.StorageHealth.CreateTableAsync(StorageProvider.PostgreSql, cs);
            }));
            await Task.WhenAll(nodes);
            await using var check = new Npgsql.NpgsqlConnection(cs);
            await check.OpenAsync();
            await using var count = new Npgsql.NpgsqlCommand(
                "SELECT count(*) FROM pg_tables WHERE tablename IN ('delivery_records', 'delivery_record_recipients', 'queue_pending', 'gateway_storage_probe')", check);
            Assert.Equal(4L, await count.ExecuteScalarAsync());
        }
    }

    static DeliveryRecord Record(string queueId, string sender, string messageId, string recipient, DateTimeOffset completed) =>
        new(queueId, "local", sender, messageId, "127.0.0.1", Pools.Good, 0, 1234, false, completed.AddMinutes(-1), completed, 1,
            [new RecipientRecord(recipient, RecipientStatus.Delivered, "2.0.0", "smtp; 250 2.0.0 Ok", "mx.rcpt.example[127.0.0.1]", "Tls13", "127.0.0.2", 1, completed)]);

    static async Task CompletesSearchesAndPrunesAsync(Akka.Configuration.Config config, GatewaySettings settings)
    {
        using var system = ActorSystem.Create("records", config);
        var now = DateTimeOffset.UtcNow;
        // Three messages in the journal (the journal's tables exist once it has written).
        foreach (var id in new[] { "R1", "R2", "OLD", "KEEP" })
        {
            JournalTestKit.Journal(system, id, 1, new MessageAccepted(id, JournalTestKit.Envelope("bob@rcpt.example"), "Subject: t\r\n\r\nbody\r\n"u8.ToArray()),
                QueueTags.Queued);
            JournalTestKit.Journal(system, id, 2, new MessageCompleted(now), QueueTags.Done);
        }
        var store = new DeliveryRecordStore(settings);
        await store.CreateTablesAsync();
        await store.IndexJournalAsync();

        var r1 = Record("R1", "Alice@Sender.example", "one@test", "Bob@Rcpt.example", now.AddDays(-8));
        var r2 = Record("R2", "carol@sender.example", "two@test", "dave@other.example", now);
        // Two recipients, one of them twice in different case; and no Message-ID.
        var r2Recipient = r2.Recipients.Single();
        r2 = r2 with { MessageId = null, Recipients = [r2Recipient, r2Recipient with { Recipient = "Dave@Other.example" }, r2Recipient with { Recipient = "erin@other.example" }] };
        // OLD completed before records existed: it is only deleted.
        await store.CompleteAsync([(MessageActor.PersistenceIdOf("R1"), r1), (MessageActor.PersistenceIdOf("R2"), r2), (MessageActor.PersistenceIdOf("OLD"), null)]);
        // Again (a sweeper that read the same done events after a crash): nothing changes, no error.
        await store.CompleteAsync([(MessageActor.PersistenceIdOf("R1"), r1 with { Tenant = "other" }), (MessageActor.PersistenceIdOf("R2"), r2)]);

        Assert.Equal(0, await CountAsync(settings, "SELECT COUNT(*) FROM journal WHERE persistence_id IN ('msg-R1', 'msg-R2', 'msg-OLD')"));
        Assert.Equal(0, await CountAsync(settings, "SELECT COUNT(*) FROM tags WHERE persistence_id IN ('msg-R1', 'msg-R2', 'msg-OLD')"));
        Assert.Null(await store.GetAsync("OLD"));
        Assert.Equal(2, await CountAsync(settings, "SELECT COUNT(*) FROM delivery_record_recipients WHERE queue_id = 'R2'"));
        Assert.Equal(2, await CountAsync(settings, "SELECT COUNT(*) FROM journal WHERE persistence_id = 'msg-KEEP'"));
        Assert.Equal(2, await CountAsync(settings, "SELECT COUNT(*) FROM tags WHERE persistence_id = 'msg-KEEP'"));

        // Found by each field, case-insensitively for addresses; the first record stays as written.
        async Task<string[]> Ids(RecordQuery q) => (await store.SearchAsync(q)).Select(r => r.QueueId).ToArray();
        Assert.Equal("local", (await store.GetAsync("R1"))!.Tenant);
        Assert.Equal(["R1"], await Ids(new RecordQuery(MessageId: "<one@test>")));
        Assert.Equal(["R1"], await Ids(new RecordQuery(Sender: "alice@sender.EXAMPLE")));
        Assert.Equal(["R2"], await Ids(new RecordQuery(Recipient: "DAVE@other.example")));
        Assert.Equal(["R2", "R1"], await Ids(new RecordQuery(Tenant: "local")));
        Assert.Equal(["R2"], await Ids(new RecordQuery(Since: now.AddDays(-1))));
        Assert.Equal(["R1"], await Ids(new RecordQuery(Until: now.AddDays(-1), Tenant: "local")));
        Assert.Empty(await Ids(new RecordQuery(Recipient: "bob@rcpt.example", Sender: "carol@sender.example")));
        var kept = (await store.GetAsync("R2"))!;
        Assert.Equal(r2.Recipients, kept.Recipients);
        Assert.Null(kept.MessageId);
        Assert.Equal(["R2"], await Ids(new RecordQuery(Recipient: "erin@other.example")));

        // Retention: records completed before the cutoff go, with their recipient index.
        Assert.Equal(1, await store.PruneAsync(now.AddDays(-7)));
        Assert.Null(await store.GetAsync("R1"));
        Assert.Empty(await Ids(new RecordQuery(Recipient: "bob@rcpt.example")));
        Assert.NotNull(await store.GetAsync("R2"));
        Assert.Equal(0, await store.PruneAsync(now.AddDays(-7)));
    }

    static async Task<long> CountAsync(GatewaySettings settings, string sql)
    {
        await using DbConnection connection = settings.Storage == StorageProvider.Sqlite
            ? new Microsoft.Data.Sqlite.SqliteConnection(settings.ConnectionString) : new Npgsql.NpgsqlConnection(settings.ConnectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }
}
