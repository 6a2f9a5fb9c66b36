using System.Data.Common;
using ActorGateway.Node.Configuration;
using static ActorGateway.Node.Storage.GatewayDatabase;

namespace ActorGateway.Node.Queue;

/// <summary>One queued message as the sweeper knows it: when it is due (null: waiting for its pool or a connection), when it was received, and the node incarnation making its first attempt.</summary>
public sealed record PendingEntry(string QueueId, DateTimeOffset? Next, DateTimeOffset? Received, string? AcceptedBy);

/// <summary>
/// The queue sweeper's pending set, in the queue's own database (SQLite or PostgreSQL), so that
/// a checkpoint writes only what changed since the one before instead of the whole set: with a
/// receiver down for a day the set holds hundreds of thousands of messages, and writing all of
/// them every few seconds would cost more than the mail coming in. A sweeper that starts
/// (after a restart or a failover) loads the set from here and reads the journal from its
/// checkpointed offset on.
/// </summary>
public sealed class PendingQueueStore(StorageProvider provider, string connectionString)
{
    // Rows per transaction: on SQLite every journal write waits while one runs; rows per commit of
    // the journal's writer when it takes them (acceptances in that commit wait for them).
    const int RowsPerTransaction = 1000, RowsPerSharedCommit = 50;

    public PendingQueueStore(GatewaySettings settings) : this(settings.Storage, settings.ConnectionString) { }

    /// <summary>Creates the table if missing; at start-up, before the sweeper runs.</summary>
    public async Task CreateTableAsync(CancellationToken ct = default)
    {
        await using var connection = await OpenAsync(provider, connectionString, ct);
        await CreateSchemaAsync(connection, """
            CREATE TABLE IF NOT EXISTS queue_pending (
              queue_id VARCHAR(255) NOT NULL PRIMARY KEY,
              next_at BIGINT NULL,
              received_at BIGINT NULL,
              accepted_by VARCHAR(512) NULL)
            """, ct);
    }

    public async Task<IReadOnlyList<PendingEntry>> LoadAsync(CancellationToken ct = default)
    {
        await using var connection = await OpenAsync(provider, connectionString, ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT queue_id, next_at, received_at, accepted_by FROM queue_pending";
        var entries = new List<PendingEntry>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            entries.Add(new PendingEntry(reader.GetString(0), Time(reader, 1), Time(reader, 2), reader.IsDBNull(3) ? null : reader.GetString(3)));
        return entries;
    }

    /// <summary>Writes the entries (inserted or replaced) and removes the ids. Repeating it changes nothing.</summary>
    public Task SaveAsync(IReadOnlyCollection<PendingEntry> changed, IReadOnlyCollection<string> removed, CancellationToken ct = default) =>
        WriteInChunksAsync(provider, connectionString,
            changed.Select(e => (e.QueueId, Entry: (PendingEntry?)e)).Concat(removed.Select(id => (QueueId: id, Entry: (PendingEntry?)null))),
            RowsPerTransaction, RowsPerSharedCommit, (connection, transaction, rows) =>
            {
                if (IsPostgreSql(connection)) { SaveAll(connection, transaction, rows); return; }
                using var upsert = Command(connection, transaction, """
                    INSERT INTO queue_pending (queue_id, next_at, received_at, accepted_by) VALUES (@id, @next, @received, @by)
                    ON CONFLICT (queue_id) DO UPDATE SET next_at = excluded.next_at, received_at = excluded.received_at, accepted_by = excluded.accepted_by
                    """, "@id", "@next", "@received", "@by");
                using var delete = Command(connection, transaction, "DELETE FROM queue_pending WHERE queue_id = @id", "@id");
                foreach (var (id, entry) in rows)
                {
                    if (entry is null) Run(delete, id);
                    else Run(upsert, id, entry.Next?.ToUnixTimeMilliseconds(), entry.Received?.ToUnixTimeMilliseconds(), entry.AcceptedBy);
                }
            }, ct);

    /// <summary>
    /// PostgreSQL: a chunk in two statements sent as one batch, one round trip (a statement per row
    /// costs a round trip per row). A row's last change wins, as row by row.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    static void SaveAll(DbConnection connection, DbTransaction transaction, (string QueueId, PendingEntry? Entry)[] rows)
    {
        var last = rows.Select((row, i) => (row, i)).GroupBy(x => x.row.QueueId).Select(g => g.MaxBy(x => x.i).row).ToArray();
        var upserts = last.Where(r => r.Entry is not null).Select(r => r.Entry!).ToArray();
        using var batch = new Npgsql.NpgsqlBatch((Npgsql.NpgsqlConnection)connection, (Npgsql.NpgsqlTransaction)transaction);
        batch.BatchCommands.Add(Postgres("""
            INSERT INTO queue_pending (queue_id, next_at, received_at, accepted_by)
            SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[])
            ON CONFLICT (queue_id) DO UPDATE SET next_at = excluded.next_at, received_at = excluded.received_at, accepted_by = excluded.accepted_by
            """, upserts.Select(e => e.QueueId).ToArray(), upserts.Select(e => e.Next?.ToUnixTimeMilliseconds()).ToArray(),
            upserts.Select(e => e.Received?.ToUnixTimeMilliseconds()).ToArray(), upserts.Select(e => e.AcceptedBy).ToArray()));
        batch.BatchCommands.Add(Postgres("DELETE FROM queue_pending WHERE queue_id = ANY($1)",
            last.Where(r => r.Entry is null).Select(r => r.QueueId).ToArray()));
        batch.ExecuteNonQuery();
    }

    static DateTimeOffset? Time(DbDataReader reader, int column) =>
        reader.IsDBNull(column) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(column));
}
