using System.Data.Common;
using ActorGateway.Node.Configuration;
using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.Snapshot;
using static ActorGateway.Node.Storage.GatewayDatabase;

namespace ActorGateway.Node.Storage;

/// <summary>
/// The snapshot store (the queue sweeper's checkpoint, rate-limit windows, webhook event queues)
/// on Akka.Persistence.Sql's snapshot table, written with plain SQL on SQLite or PostgreSQL.
/// Snapshots are few and small; the plugin's store served them through linq2db, which alone
/// brought thousands of compiled methods and expression trees into every node's memory
/// (tests/bench/RESULTS.md). Rows the plugin wrote are read as they are, and the other way round.
/// </summary>
public sealed class SqlSnapshotStore : SnapshotStore
{
    readonly StorageProvider _provider;
    readonly string _connectionString;
    readonly Akka.Serialization.Serialization _serialization;
    Task? _schema;

    public SqlSnapshotStore(Config config)
    {
        _provider = config.GetString("provider") == "postgresql" ? StorageProvider.PostgreSql : StorageProvider.Sqlite;
        _connectionString = config.GetString("connection-string");
        _serialization = Context.System.Serialization;
    }

    // The table is created when the store starts, so that the first recoveries after a start (many at
    // once) do not all wait on that write; a failed attempt is made again on the next use.
    protected override void PreStart()
    {
        base.PreStart();
        _ = Schema();
    }

    Task Schema()
    {
        if (_schema is null || _schema.IsFaulted) _schema = CreateTableAsync();
        return _schema;
    }

    async Task<DbConnection> OpenAsync(CancellationToken ct)
    {
        await Schema();
        return await GatewayDatabase.OpenAsync(_provider, _connectionString, ct);
    }

    async Task CreateTableAsync()
    {
        await using var connection = await GatewayDatabase.OpenAsync(_provider, _connectionString);
        var (text, bytes, integer) = _provider == StorageProvider.Sqlite ? ("NVarChar(255)", "VarBinary", "INTEGER") : ("text", "bytea", "BigInt");
        await CreateSchemaAsync(connection, $"""
            CREATE TABLE IF NOT EXISTS snapshot (
              persistence_id {text} NOT NULL,
              sequence_number {integer} NOT NULL,
              created {integer} NOT NULL,
              snapshot {bytes} NULL,
              manifest {(_provider == StorageProvider.Sqlite ? "NVarChar(500)" : "text")} NULL,
              serializer_id {(_provider == StorageProvider.Sqlite ? "INTEGER" : "Int")} NULL,
              CONSTRAINT "PK_snapshot" PRIMARY KEY (persistence_id, sequence_number))
            """);
    }

    const string Matching = """
        persistence_id = @pid AND sequence_number <= @maxSeq AND sequence_number >= @minSeq AND created <= @maxAt AND created >= @minAt
        """;

    static (string, object)[] Criteria(string persistenceId, SnapshotSelectionCriteria c) =>
        [("@pid", persistenceId), ("@maxSeq", c.MaxSequenceNr), ("@minSeq", c.MinSequenceNr), ("@maxAt", c.MaxTimeStamp.Ticks), ("@minAt", c.MinTimestamp?.Ticks ?? 0L)];

    protected override async Task<SelectedSnapshot?> LoadAsync(string persistenceId, SnapshotSelectionCriteria criteria, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT sequence_number, created, snapshot, manifest, serializer_id FROM snapshot WHERE {Matching} ORDER BY sequence_number DESC LIMIT 1";
        foreach (var (name, value) in Criteria(persistenceId, criteria)) command.Parameters.Add(Parameter(command, name, value));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken)) return null;
        var metadata = new SnapshotMetadata(persistenceId, reader.GetInt64(0), new DateTime(reader.GetInt64(1), DateTimeKind.Utc));
        var payload = _serialization.Deserialize((byte[])reader.GetValue(2), reader.GetInt32(4), reader.IsDBNull(3) ? "" : reader.GetString(3));
        return new SelectedSnapshot(metadata, payload);
    }

    protected override Task SaveAsync(SnapshotMetadata metadata, object snapshot, CancellationToken cancellationToken)
    {
        var serializer = _serialization.FindSerializerFor(snapshot);
        object?[] row = [metadata.PersistenceId, metadata.SequenceNr, metadata.Timestamp == DateTime.MinValue ? DateTime.UtcNow.Ticks : metadata.Timestamp.Ticks,
            serializer.ToBinary(snapshot), Akka.Serialization.Serialization.ManifestFor(serializer, snapshot), serializer.Identifier];
        return WriteAsync("""
            INSERT INTO snapshot (persistence_id, sequence_number, created, snapshot, manifest, serializer_id)
            VALUES (@pid, @seq, @created, @snapshot, @manifest, @serializer)
            ON CONFLICT (persistence_id, sequence_number) DO UPDATE SET
              created = excluded.created, snapshot = excluded.snapshot, manifest = excluded.manifest, serializer_id = excluded.serializer_id
            """, ["@pid", "@seq", "@created", "@snapshot", "@manifest", "@serializer"], row, cancellationToken);
    }

    protected override Task DeleteAsync(SnapshotMetadata metadata, CancellationToken cancellationToken) =>
        WriteAsync("DELETE FROM snapshot WHERE persistence_id = @pid AND sequence_number = @seq", ["@pid", "@seq"], [metadata.PersistenceId, metadata.SequenceNr], cancellationToken);

    protected override Task DeleteAsync(string persistenceId, SnapshotSelectionCriteria criteria, CancellationToken cancellationToken)
    {
        var criteriaValues = Criteria(persistenceId, criteria);
        return WriteAsync($"DELETE FROM snapshot WHERE {Matching}", criteriaValues.Select(c => c.Item1).ToArray(), criteriaValues.Select(c => (object?)c.Item2).ToArray(), cancellationToken);
    }

    /// <summary>
    /// One statement in a transaction of its own; on SQLite through the journal's writer while it
    /// runs, so that no acceptance waits behind this connection's write lock (see WriteInChunksAsync).
    /// </summary>
    async Task WriteAsync(string sql, string[] parameters, object?[] values, CancellationToken ct)
    {
        await Schema();
        await WriteInChunksAsync(_provider, _connectionString, [values], 1, 1, (connection, transaction, rows) =>
        {
            using var command = Command(connection, transaction, sql, parameters);
            Run(command, rows[0]);
        }, ct);
    }
}
