using System.Data.Common;
using ActorGateway.Node.Configuration;
using Microsoft.Data.Sqlite;

namespace ActorGateway.Node.Storage;

/// <summary>A connection to the queue's database (SQLite on one node, PostgreSQL in the cluster) for the gateway's own SQL.</summary>
public static class GatewayDatabase
{
    public static async Task<DbConnection> OpenAsync(StorageProvider provider, string connectionString, CancellationToken ct = default)
    {
        var connection = provider == StorageProvider.Sqlite ? new SqliteConnection(connectionString) : NewPostgreSqlConnection(connectionString);
        try
        {
            await connection.OpenAsync(ct);
            if (connection is SqliteConnection)
            {
                // SQLite's own busy handler (millisecond retries) rather than the driver's 150 ms sleeps.
                await using var pragma = connection.CreateCommand();
                pragma.CommandText = "PRAGMA busy_timeout=30000";
                await pragma.ExecuteNonQueryAsync(ct);
            }
        }
        catch { await connection.DisposeAsync(); throw; }
        return connection;
    }

    // Out of line so that compiling OpenAsync does not load Npgsql (and System.Transactions) into a
    // node on SQLite: a megabyte of mapped code it never runs.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    static DbConnection NewPostgreSqlConnection(string connectionString) => new Npgsql.NpgsqlConnection(connectionString);

    /// <summary>
    /// Whether a connection is PostgreSQL's. Asked this way rather than with a type test on Npgsql's
    /// connection, which loads Npgsql (and System.Transactions) on SQLite nodes as well.
    /// </summary>
    public static bool IsPostgreSql(DbConnection connection) => connection is not SqliteConnection;

    /// <summary>
    /// A PostgreSQL connection string with Npgsql's automatic preparation on, unless the operator
    /// set it (0 behind a connection pooler that cannot keep prepared statements). Unprepared, the
    /// server parses and plans each of the journal's and the sweeper's statements anew, and they
    /// repeat thousands of times a minute.
    /// </summary>
    public static string WithAutoPrepare(string connectionString)
    {
        var keys = new DbConnectionStringBuilder { ConnectionString = connectionString }.Keys.Cast<string>();
        if (keys.Any(k => k.Replace(" ", "").Equals("MaxAutoPrepare", StringComparison.OrdinalIgnoreCase))) return connectionString;
        return connectionString.TrimEnd().TrimEnd(';') + ";Max Auto Prepare=64";
    }

    // Any number, the same on every node: the advisory lock under which nodes create tables one at a time.
    const long SchemaLock = 0x4147_5753_4348_454D;

    /// <summary>
    /// Creates tables and indexes (statements with IF NOT EXISTS) in one transaction. On PostgreSQL
    /// nodes that start at once on a fresh database take turns under an advisory lock: two sessions
    /// creating one table at the same time make one of them fail on the catalog's unique key
    /// (pg_type), even with IF NOT EXISTS. And when every table and index named exists already,
    /// nothing runs: CREATE INDEX IF NOT EXISTS locks its table before it looks, and a node starting
    /// while others write deadlocked with their journal writes (one table locked for the index,
    /// the next one waited for).
    /// </summary>
    public static async Task CreateSchemaAsync(DbConnection connection, string ddl, CancellationToken ct = default)
    {
        await using var transaction = await connection.BeginTransactionAsync(ct);
        if (connection is not SqliteConnection)
        {
            await ExecuteAsync(connection, transaction, $"SELECT pg_advisory_xact_lock({SchemaLock})", ct);
            var names = CreatedObject.Matches(ddl).Select(m => m.Groups["name"].Value).Distinct().ToArray();
            await using var exists = connection.CreateCommand();
            exists.Transaction = transaction;
            exists.CommandText = "SELECT count(*) FROM unnest(@names) AS n WHERE to_regclass(n) IS NOT NULL";
            exists.Parameters.Add(Parameter(exists, "@names", names));
            if (names.Length > 0 && Convert.ToInt32(await exists.ExecuteScalarAsync(ct)) == names.Length)
            {
                await transaction.CommitAsync(ct);
                return;
            }
        }
        await ExecuteAsync(connection, transaction, ddl, ct);
        await transaction.CommitAsync(ct);
    }

    static readonly System.Text.RegularExpressions.Regex CreatedObject =
        new(@"CREATE\s+(?:UNIQUE\s+)?(?:TABLE|INDEX)\s+IF\s+NOT\s+EXISTS\s+""?(?<name>\w+)", System.Text.RegularExpressions.RegexOptions.IgnoreCase);

    /// <summary>
    /// Writes the items in chunks, each in one transaction. On SQLite, while the node's journal runs
    /// on the same file, each chunk of <paramref name="sharedChunk"/> items goes into one of the
    /// journal writer's batches instead, one chunk per commit, so that no acceptance waits behind
    /// a long transaction of this write (see SqliteJournal.SharedWriter).
    /// </summary>
    public static async Task WriteInChunksAsync<T>(StorageProvider provider, string connectionString, IEnumerable<T> items, int chunk, int sharedChunk,
        Action<DbConnection, DbTransaction, T[]> write, CancellationToken ct = default)
    {
        if (provider == StorageProvider.Sqlite && SqliteJournal.SharedWriter(connectionString) is { } shared)
        {
            foreach (var part in items.Chunk(sharedChunk)) await shared((connection, transaction) => write(connection, transaction, part));
            return;
        }
        foreach (var part in items.Chunk(chunk))
        {
            await using var connection = await OpenAsync(provider, connectionString, ct);
            await using var transaction = await connection.BeginTransactionAsync(ct);
            await Task.Run(() => write(connection, transaction, part), ct); // off the caller's thread (an actor's, for one)
            await transaction.CommitAsync(ct);
        }
    }

    /// <summary>Runs a command from <see cref="Command"/> with its parameters set, in order, to the values.</summary>
    public static void Run(DbCommand command, params object?[] values)
    {
        for (var i = 0; i < values.Length; i++) command.Parameters[i].Value = values[i] ?? DBNull.Value;
        command.ExecuteNonQuery();
    }

    /// <summary>A prepared-style command whose parameters are set per row by <see cref="Run"/>.</summary>
    public static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql, params string[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        foreach (var p in parameters) command.Parameters.Add(Parameter(command, p, DBNull.Value));
        return command;
    }

    /// <summary>
    /// A PostgreSQL statement for an NpgsqlBatch over many rows at once: its parameters ($1, $2, ...)
    /// are arrays, one per column, that the statement unnests (or matches with ANY).
    /// </summary>
    public static Npgsql.NpgsqlBatchCommand Postgres(string sql, params Array[] columns)
    {
        var command = new Npgsql.NpgsqlBatchCommand(sql);
        foreach (var column in columns) command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = column });
        return command;
    }

    public static DbParameter Parameter(DbCommand command, string name, object? value)
    {
        var p = command.CreateParameter();
        p.ParameterName = name;
        p.Value = value ?? DBNull.Value;
        return p;
    }

    public static async Task<int> ExecuteAsync(DbConnection connection, DbTransaction? transaction, string sql, CancellationToken ct, params (string, object)[] values)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        foreach (var (name, value) in values) command.Parameters.Add(Parameter(command, name, value));
        return await command.ExecuteNonQueryAsync(ct);
    }
}
