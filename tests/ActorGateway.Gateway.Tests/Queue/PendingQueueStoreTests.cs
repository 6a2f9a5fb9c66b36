using ActorGateway.Gateway.Tests.Support;
using ActorGateway.Node.Configuration;
using ActorGateway.Node.Queue;
using ActorGateway.Testing;

namespace ActorGateway.Gateway.Tests.Queue;

/// <summary>
/// The sweeper's pending set in its table: a checkpoint's changes (new entries, changed ones,
/// removed ones, and an entry changed and removed in the same checkpoint) come back as written,
/// also when they span several transactions. On real SQLite and real PostgreSQL.
/// </summary>
[Collection(JournalCollection.Name)]
public sealed class PendingQueueStoreTests
{
    [Fact]
    public async Task Sqlite_keeps_what_each_checkpoint_changed()
    {
        using var dir = new TempDirectory();
        await KeepsWhatEachCheckpointChangedAsync(new PendingQueueStore(StorageProvider.Sqlite, $"Data Source={Path.Combine(dir.Path, "q.db")}"));
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
    }

    [Fact]
    public async Task PostgreSql_keeps_what_each_checkpoint_changed()
    {
        await using var pg = await PostgresServer.StartAsync();
        await KeepsWhatEachCheckpointChangedAsync(new PendingQueueStore(StorageProvider.PostgreSql, pg.ConnectionString()));
    }

    static async Task KeepsWhatEachCheckpointChangedAsync(PendingQueueStore store)
    {
        await store.CreateTableAsync();
        var at = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        // More than one transaction's worth (1,000 rows each), with every kind of value, nulls included.
        var first = Enumerable.Range(0, 2_500).Select(i => new PendingEntry($"q{i:D5}", i % 3 == 0 ? null : at.AddSeconds(i),
            i % 5 == 0 ? null : at.AddSeconds(-i), i % 2 == 0 ? null : $"akka.tcp://gateway@127.0.0.1:4053#{i}")).ToArray();
        await store.SaveAsync(first, []);
        Assert.Equal(first.OrderBy(e => e.QueueId), (await store.LoadAsync()).OrderBy(e => e.QueueId));

        // The next checkpoint: some due later, some gone, one both changed and gone, one new; again with no change.
        var changed = first.Where(e => e.QueueId.EndsWith('7')).Select(e => e with { Next = at.AddHours(1), AcceptedBy = null })
            .Append(new PendingEntry("new", at, at, "node-b")).Append(first[10] with { Next = at.AddDays(1) }).ToArray();
        var removed = first.Where(e => e.QueueId.EndsWith('3')).Select(e => e.QueueId).Append(first[10].QueueId).ToArray();
        for (var i = 0; i < 2; i++) await store.SaveAsync(changed, removed);

        var expected = first.Where(e => !removed.Contains(e.QueueId) && !e.QueueId.EndsWith('7'))
            .Concat(changed.Where(e => !removed.Contains(e.QueueId))).OrderBy(e => e.QueueId).ToArray();
        Assert.Equal(expected, (await store.LoadAsync()).OrderBy(e => e.QueueId));
    }
}
