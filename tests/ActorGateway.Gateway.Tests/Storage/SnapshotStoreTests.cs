using ActorGateway.Gateway.Tests.Support;
using ActorGateway.Node.Queue;
using Akka.Actor;
using Akka.Persistence;

namespace ActorGateway.Gateway.Tests.Storage;

/// <summary>
/// The gateway's snapshot store on a real database, configured as the node configures it
/// (SqlSnapshotStore on SQLite and on PostgreSQL): the youngest snapshot that matches comes
/// back, a snapshot saved again under its sequence number replaces the old one, deletes take one
/// or all that match, and rows written by Akka.Persistence.Sql's store (which nodes used before)
/// are read as they are, and the other way round.
/// </summary>
[Collection(JournalCollection.Name)]
public sealed class SqliteSnapshotStoreTests() : SnapshotStoreContractTests("akka.actor.provider = local");

[Collection(JournalCollection.Name)]
public sealed class PostgresSnapshotStoreTests(PostgresJournalTests.Database database) : SnapshotStoreContractTests(
    $"akka.actor.provider = local\ngateway.storage {{ provider = postgresql, connection-string = \"{database.Server.ConnectionString()}\" }}"),
    IClassFixture<PostgresJournalTests.Database>;

public abstract class SnapshotStoreContractTests(string hocon) : JournalTestKit("snapshot-test", hocon)
{
    static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    readonly string _run = Guid.NewGuid().ToString("N")[..8]; // persistence ids of this case's own (one database per class on PostgreSQL)

    IActorRef Store(string? plugin = null) => Persistence.Instance.Apply(Sys).SnapshotStoreFor(plugin);

    void Save(IActorRef store, string pid, long seq, DateTime at, string payload)
    {
        store.Tell(new SaveSnapshot(new SnapshotMetadata(pid, seq, at), new QueueCheckpointTaken(new DateTimeOffset(at.Ticks, TimeSpan.Zero).AddDays(ParseDays(payload)))), TestActor);
        ExpectMsg<SaveSnapshotSuccess>(Wait);
    }

    // The payload is a record the node serializes with its own serializer; its day offset tells versions apart.
    static int ParseDays(string payload) => int.Parse(payload);

    (long Seq, int Days)? Load(IActorRef store, string pid, SnapshotSelectionCriteria criteria)
    {
        store.Tell(new LoadSnapshot(pid, criteria, long.MaxValue), TestActor);
        var result = ExpectMsg<LoadSnapshotResult>(Wait);
        if (result.Snapshot is null) return null;
        var taken = Assert.IsType<QueueCheckpointTaken>(result.Snapshot.Snapshot);
        return (result.Snapshot.Metadata.SequenceNr, (int)(taken.At - new DateTimeOffset(result.Snapshot.Metadata.Timestamp.Ticks, TimeSpan.Zero)).TotalDays);
    }

    [Fact]
    public void The_youngest_matching_snapshot_comes_back_a_repeated_save_replaces_and_deletes_take_what_they_select()
    {
        var store = Store();
        var pid = $"sweeper-{_run}";
        var t0 = new DateTime(2026, 12, 1, 5, 0, 0, DateTimeKind.Utc);
        Save(store, pid, 1, t0, "1");
        Save(store, pid, 2, t0.AddMinutes(1), "2");
        Save(store, pid, 3, t0.AddMinutes(2), "3");
        Save(store, pid, 2, t0.AddMinutes(1), "20"); // the same sequence number again

        Assert.Equal((3L, 3), Load(store, pid, SnapshotSelectionCriteria.Latest));
        Assert.Equal((2L, 20), Load(store, pid, new SnapshotSelectionCriteria(2)));
        Assert.Equal((1L, 1), Load(store, pid, new SnapshotSelectionCriteria(long.MaxValue, t0.AddSeconds(30))));
        Assert.Null(Load(store, pid, new SnapshotSelectionCriteria(long.MaxValue, t0.AddSeconds(-1))));
        Assert.Null(Load(store, pid, new SnapshotSelectionCriteria(long.MaxValue, DateTime.MaxValue, minSequenceNr: 4)));
        Assert.Null(Load(store, $"other-{_run}", SnapshotSelectionCriteria.Latest));

        store.Tell(new DeleteSnapshot(new SnapshotMetadata(pid, 3, t0.AddMinutes(2))), TestActor);
        ExpectMsg<DeleteSnapshotSuccess>(Wait);
        Assert.Equal((2L, 20), Load(store, pid, SnapshotSelectionCriteria.Latest));

        store.Tell(new DeleteSnapshots(pid, new SnapshotSelectionCriteria(1)), TestActor);
        ExpectMsg<DeleteSnapshotsSuccess>(Wait);
        Assert.Equal((2L, 20), Load(store, pid, SnapshotSelectionCriteria.Latest));
        store.Tell(new DeleteSnapshots(pid, SnapshotSelectionCriteria.Latest), TestActor);
        ExpectMsg<DeleteSnapshotsSuccess>(Wait);
        Assert.Null(Load(store, pid, SnapshotSelectionCriteria.Latest));
    }

    [Fact]
    public void Snapshots_written_by_the_plugins_store_are_read_and_the_other_way_round()
    {
        var ours = Store();
        var plugin = Store("akka.persistence.snapshot-store.sql");
        var at = new DateTime(2026, 11, 30, 12, 0, 0, DateTimeKind.Utc);
        Save(ours, $"ours-{_run}", 5, at, "7"); // ours first: the table as this store creates it on a fresh database
        Save(plugin, $"plugin-{_run}", 4, at, "3");

        Assert.Equal((4L, 3), Load(ours, $"plugin-{_run}", SnapshotSelectionCriteria.Latest));
        Assert.Equal((5L, 7), Load(plugin, $"ours-{_run}", SnapshotSelectionCriteria.Latest));
    }
}
