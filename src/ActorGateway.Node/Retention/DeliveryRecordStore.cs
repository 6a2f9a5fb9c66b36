using System.Data.Common;
using System.Text.Json;
using ActorGateway.Node.Configuration;
using ActorGateway.Node.Pipeline;
using Microsoft.Data.Sqlite;
using static ActorGateway.Node.Storage.GatewayDatabase;

namespace ActorGateway.Node.Retention;

/// <summary>What `actorgw log search` asks for; every given field must match (addresses and ids exactly, case-insensitively).</summary>
public sealed record RecordQuery(string? QueueId = null, string? MessageId = null, string? Sender = null, string? Recipient = null, string? Tenant = null,
    DateTimeOffset? Since = null, DateTimeOffset? Until = null, int Limit = 100);

/// <summary>
/// The delivery records of completed messages, in the queue's own database (SQLite or
/// PostgreSQL), and the removal of completed messages from the journal. Both happen in one
/// transaction per batch: a message's events (and so its body) leave the journal exactly when
/// its record is in, so a crash in between leaves either both (the next sweep finishes the job)
/// or the record alone.
/// </summary>
public sealed class DeliveryRecordStore
{
    static readonly JsonSerializerOptions Json = new() { Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() } };
    readonly string _connectionString;
    readonly bool _sqlite;
    readonly StorageProvider _provider;

    public DeliveryRecordStore(GatewaySettings settings) : this(settings.Storage, settings.ConnectionString) { }

    public DeliveryRecordStore(StorageProvider provider, string connectionString)
    {
        _provider = provider;
        _sqlite = provider == StorageProvider.Sqlite;
        _connectionString = connectionString;
    }

    Task<DbConnection> OpenAsync(CancellationToken ct) =>
        ActorGateway.Node.Storage.GatewayDatabase.OpenAsync(_provider, _connectionString, ct);

    /// <summary>Creates the record tables if missing; at start-up, before anything reads or writes records.</summary>
    public async Task CreateTablesAsync(CancellationToken ct = default)
    {
        await using var connection = await OpenAsync(ct);
        await CreateSchemaAsync(connection, """
            CREATE TABLE IF NOT EXISTS delivery_records (
              queue_id VARCHAR(255) NOT NULL PRIMARY KEY,
              tenant VARCHAR(255) NOT NULL,
              sender VARCHAR(512) NOT NULL,
              message_id VARCHAR(998) NULL,
              received_at BIGINT NOT NULL,
              completed_at BIGINT NOT NULL,
              record TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS delivery_records_completed_at_idx ON delivery_records (completed_at);
            CREATE INDEX IF NOT EXISTS delivery_records_message_id_idx ON delivery_records (message_id);
            CREATE INDEX IF NOT EXISTS delivery_records_sender_idx ON delivery_records (sender);
            CREATE INDEX IF NOT EXISTS delivery_records_tenant_idx ON delivery_records (tenant, completed_at);
            CREATE TABLE IF NOT EXISTS delivery_record_recipients (
              queue_id VARCHAR(255) NOT NULL,
              recipient VARCHAR(512) NOT NULL,
              PRIMARY KEY (queue_id, recipient));
            CREATE INDEX IF NOT EXISTS delivery_record_recipients_recipient_idx ON delivery_record_recipients (recipient);
            """, ct);
    }

    /// <summary>
    /// Completed messages are deleted from the journal by persistence id; the plugin's tag table has
    /// no index for that on PostgreSQL. Once the journal's tables exist (the plugin makes them on first use).
    /// </summary>
    public async Task IndexJournalAsync(CancellationToken ct = default)
    {
        if (_sqlite) return; // our SQLite journal's tag index starts with the persistence id already
        await using var connection = await OpenAsync(ct);
        await CreateSchemaAsync(connection, "CREATE INDEX IF NOT EXISTS tags_persistence_id_idx ON tags (persistence_id)", ct);
    }

    /// <summary>
    /// Stores the records (an existing record of the same queue id is kept) and deletes every
    /// event and tag of the completed messages from the journal, each message's in one transaction. Repeating it
    /// changes nothing. <paramref name="completed"/>: persistence id and record (null: a message
    /// completed before records existed; it is only deleted).
    /// </summary>
    public Task CompleteAsync(IReadOnlyCollection<(string PersistenceId, DeliveryRecord? Record)> completed, CancellationToken ct = default) =>
        // In chunks: one sweep may bring thousands, and on SQLite every journal write waits while a transaction runs.
        // The records' JSON first: on SQLite the writes may run on the journal's writer thread.
        WriteInChunksAsync(_provider, _connectionString, completed.Select(c => (c.PersistenceId, c.Record, Json: c.Record is null ? null : JsonSerializer.Serialize(c.Record, Json))).ToArray(),
            500, 10, Complete, ct);

    static void Complete(DbConnection connection, DbTransaction transaction, (string PersistenceId, DeliveryRecord? Record, string? Json)[] completed)
    {
        if (IsPostgreSql(connection)) { CompleteAll(connection, transaction, completed); return; }
        using var record = Command(connection, transaction, """
            INSERT INTO delivery_records (queue_id, tenant, sender, message_id, received_at, completed_at, record)
            VALUES (@id, @tenant, @sender, @mid, @received, @completed, @record) ON CONFLICT (queue_id) DO NOTHING
            """, "@id", "@tenant", "@sender", "@mid", "@received", "@completed", "@record");
        using var recipient = Command(connection, transaction,
            "INSERT INTO delivery_record_recipients (queue_id, recipient) VALUES (@id, @rcpt) ON CONFLICT (queue_id, recipient) DO NOTHING", "@id", "@rcpt");
        using var tags = Command(connection, transaction, "DELETE FROM tags WHERE persistence_id = @pid", "@pid");
        using var events = Command(connection, transaction, "DELETE FROM journal WHERE persistence_id = @pid", "@pid");
        foreach (var (persistenceId, r, json) in completed)
        {
            if (r is not null)
            {
                Run(record, r.QueueId, r.Tenant, r.Sender.ToLowerInvariant(), r.MessageId, r.ReceivedAt.ToUnixTimeMilliseconds(),
                    r.CompletedAt.ToUnixTimeMilliseconds(), json);
                foreach (var address in r.Recipients.Select(x => x.Recipient.ToLowerInvariant()).Distinct())
                    Run(recipient, r.QueueId, address);
            }
            Run(tags, persistenceId);
            Run(events, persistenceId);
        }
    }

    /// <summary>
    /// PostgreSQL: the whole chunk in four statements sent as one batch, one round trip (a
    /// statement per row costs a round trip per row, and the server parses each).
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    static void CompleteAll(DbConnection connection, DbTransaction transaction, (string PersistenceId, DeliveryRecord? Record, string? Json)[] completed)
    {
        var records = completed.Where(c => c.Record is not null).ToArray();
        var recipients = records.SelectMany(c => c.Record!.Recipients.Select(x => x.Recipient.ToLowerInvariant()).Distinct()
            .Select(address => (c.Record!.QueueId, address))).ToArray();
        var ids = completed.Select(c => c.PersistenceId).ToArray();
        using var batch = new Npgsql.NpgsqlBatch((Npgsql.NpgsqlConnection)connection, (Npgsql.NpgsqlTransaction)transaction);
        batch.BatchCommands.Add(Postgres("""
            INSERT INTO delivery_records (queue_id, tenant, sender, message_id, received_at, completed_at, record)
            SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::text[])
            ON CONFLICT (queue_id) DO NOTHING
            """,
            records.Select(c => c.Record!.QueueId).ToArray(), records.Select(c => c.Record!.Tenant).ToArray(),
            records.Select(c => c.Record!.Sender.ToLowerInvariant()).ToArray(), records.Select(c => c.Record!.MessageId).ToArray(),
            records.Select(c => c.Record!.ReceivedAt.ToUnixTimeMilliseconds()).ToArray(),
            records.Select(c => c.Record!.CompletedAt.ToUnixTimeMilliseconds()).ToArray(), records.Select(c => c.Json).ToArray()));
        batch.BatchCommands.Add(Postgres("""
            INSERT INTO delivery_record_recipients (queue_id, recipient) SELECT * FROM unnest($1::text[], $2::text[])
            ON CONFLICT (queue_id, recipient) DO NOTHING
            """, recipients.Select(r => r.QueueId).ToArray(), recipients.Select(r => r.address).ToArray()));
        batch.BatchCommands.Add(Postgres("DELETE FROM tags WHERE persistence_id = ANY($1)", ids));
        batch.BatchCommands.Add(Postgres("DELETE FROM journal WHERE persistence_id = ANY($1)", ids));
        batch.ExecuteNonQuery();
    }

    public async Task<DeliveryRecord?> GetAsync(string queueId, CancellationToken ct = default) =>
        (await SearchAsync(new RecordQuery(QueueId: queueId, Limit: 1), ct)).FirstOrDefault();

    /// <summary>The newest records that match, newest first.</summary>
    public async Task<IReadOnlyList<DeliveryRecord>> SearchAsync(RecordQuery query, CancellationToken ct = default)
    {
        var where = new List<string>();
        var values = new List<(string, object)>();
        void Add(string clause, string name, object? value)
        {
            if (value is null) return;
            where.Add(clause);
            values.Add((name, value));
        }
        Add("queue_id = @id", "@id", query.QueueId);
        Add("message_id = @mid", "@mid", query.MessageId?.Trim().TrimStart('<').TrimEnd('>'));
        Add("sender = @sender", "@sender", query.Sender?.Trim().TrimStart('<').TrimEnd('>').ToLowerInvariant());
        Add("tenant = @tenant", "@tenant", query.Tenant);
        Add("completed_at >= @since", "@since", query.Since?.ToUnixTimeMilliseconds());
        Add("completed_at <= @until", "@until", query.Until?.ToUnixTimeMilliseconds());
        Add("queue_id IN (SELECT queue_id FROM delivery_record_recipients WHERE recipient = @rcpt)", "@rcpt",
            query.Recipient?.Trim().TrimStart('<').TrimEnd('>').ToLowerInvariant());
        await using var connection = await OpenAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT record FROM delivery_records" + (where.Count > 0 ? " WHERE " + string.Join(" AND ", where) : "") +
                              $" ORDER BY completed_at DESC LIMIT {Math.Clamp(query.Limit, 1, 10_000)}";
        foreach (var (name, value) in values) command.Parameters.Add(Parameter(command, name, value));
        var records = new List<DeliveryRecord>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) records.Add(JsonSerializer.Deserialize<DeliveryRecord>(reader.GetString(0), Json)!);
        return records;
    }

    /// <summary>
    /// Removes the records of messages completed before <paramref name="before"/>; on SQLite also
    /// hands the free pages back to the file system, so that the file shrinks after a busy spell
    /// (auto_vacuum is incremental, see StorageSetup). Returns how many records were removed.
    /// </summary>
    public async Task<int> PruneAsync(DateTimeOffset before, CancellationToken ct = default)
    {
        await using var connection = await OpenAsync(ct);
        int removed;
        await using (var transaction = await connection.BeginTransactionAsync(ct))
        {
            var cutoff = before.ToUnixTimeMilliseconds();
            await ExecuteAsync(connection, transaction,
                "DELETE FROM delivery_record_recipients WHERE queue_id IN (SELECT queue_id FROM delivery_records WHERE completed_at < @before)", ct, ("@before", cutoff));
            removed = await ExecuteAsync(connection, transaction, "DELETE FROM delivery_records WHERE completed_at < @before", ct, ("@before", cutoff));
            await transaction.CommitAsync(ct);
        }
        if (_sqlite) await ExecuteAsync(connection, null, "PRAGMA incremental_vacuum", ct);
        return removed;
    }
}
