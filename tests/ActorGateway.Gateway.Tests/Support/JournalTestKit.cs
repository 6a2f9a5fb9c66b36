using ActorGateway.Node.Configuration;
using ActorGateway.Node.Pipeline;
using ActorGateway.Node.Storage;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.Journal;
using Akka.TestKit.Xunit2;

namespace ActorGateway.Gateway.Tests.Support;

/// <summary>Tests that use the journal run one at a time, apart from the node processes of other tests.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class JournalCollection { public const string Name = "journal, alone"; }

/// <summary>
/// An actor system (local actors only) with the node's persistence as the embedded default
/// configures it: SqliteJournal on a fresh SQLite file in WAL mode, removed afterwards.
/// </summary>
public abstract class JournalTestKit : TestKit
{
    readonly string _dataDir;

    /// <param name="hocon">Overrides; by default the actors are local (no cluster).</param>
    protected JournalTestKit(string systemName, string hocon = "akka.actor.provider = local")
        : this(Path.Combine(Path.GetTempPath(), "agw-journal-" + Guid.NewGuid().ToString("N")), systemName, hocon) { }

    JournalTestKit(string dataDir, string systemName, string hocon) : base(SystemConfig(dataDir, hocon), systemName) => _dataDir = dataDir;

    /// <summary>
    /// A node's configuration with its persistence as the node sets it up (the database prepared),
    /// from HOCON that names the data directory or the storage.
    /// </summary>
    public static Config SystemConfig(string dataDir, string hocon)
    {
        var config = ConfigurationFactory.ParseString($"gateway.data-dir = \"{dataDir}\"\n{hocon}")
            .WithFallback(GatewayConfig.Load([]));
        var settings = GatewayConfig.Read(config);
        StorageSetup.Prepare(settings);
        return StorageSetup.WithPersistence(config, settings);
    }

    /// <summary>The node settings this system runs with (its database among them).</summary>
    protected GatewaySettings Settings => GatewayConfig.Read(Sys.Settings.Config);

    /// <summary>The queue sweeper's pending table in this system's database, created as the node creates it at start-up.</summary>
    protected ActorGateway.Node.Queue.PendingQueueStore Pending
    {
        get
        {
            var store = new ActorGateway.Node.Queue.PendingQueueStore(Settings);
            store.CreateTableAsync().GetAwaiter().GetResult();
            return store;
        }
    }

    /// <summary>A count from this system's SQLite database, e.g. of a message's journal rows.</summary>
    protected async Task<long> CountAsync(string sql) => Convert.ToInt64(await SqlAsync(sql));

    /// <summary>Runs statements on this system's SQLite database (a test arranging the journal's rows by hand).</summary>
    protected Task ExecuteAsync(string sql) => SqlAsync(sql);

    async Task<object?> SqlAsync(string sql)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection(Settings.ConnectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteScalarAsync();
    }

    /// <summary>The envelope of a test message from alice@sender.example.</summary>
    public static MessageEnvelope Envelope(params string[] recipients) =>
        new("local", "alice@sender.example", recipients.Select(r => new QueuedRecipient(r, 0, null)).ToArray(),
            null, false, false, DateTimeOffset.UtcNow, "127.0.0.1", false);

    /// <summary>A message's event 1 (MessageAccepted), written straight to the journal as the intake writes it.</summary>
    protected void JournalAccepted(string queueId, string acceptedBy, params string[] recipients) =>
        Journal(Sys, queueId, 1, new MessageAccepted(queueId, Envelope(recipients), "Subject: test\r\n\r\nbody\r\n"u8.ToArray(), acceptedBy), QueueTags.Queued);

    /// <summary>Writes one event of a message straight to the journal of <paramref name="system"/>, and waits until it is stored.</summary>
    public static void Journal(ActorSystem system, string queueId, long sequenceNr, object @event, params string[] tags)
    {
        var done = new TaskCompletionSource<object>();
        var replies = system.ActorOf(Props.Create(() => new WriteReplies(done)));
        Persistence.Instance.Apply(system).JournalFor(null).Tell(new WriteMessages(
            [new AtomicWrite(new Persistent(new Tagged(@event, tags), sequenceNr, MessageActor.PersistenceIdOf(queueId), writerGuid: "test"))],
            replies, 1));
        if (!done.Task.Wait(TimeSpan.FromSeconds(10)) || done.Task.Result is not WriteMessageSuccess)
            throw new InvalidOperationException($"event {sequenceNr} of {queueId} not written: {(done.Task.IsCompleted ? done.Task.Result : "timeout")}");
        system.Stop(replies);
    }

    sealed class WriteReplies : ReceiveActor
    {
        public WriteReplies(TaskCompletionSource<object> done)
        {
            Receive<WriteMessagesSuccessful>(_ => { });
            ReceiveAny(m => done.TrySetResult(m));
        }
    }

    protected override void AfterAll()
    {
        base.AfterAll();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dataDir, recursive: true); } catch (IOException) { }
    }
}
