using System.Collections.Concurrent;
using Akka.Configuration;
using Microsoft.Data.Sqlite;

namespace ActorGateway.Node.Storage;

/// <summary>
/// The journal of the embedded default (one node, SQLite): see <see cref="BatchingJournal"/>.
/// Reads use their own pooled connections; under WAL they never wait for the writer.
/// </summary>
public sealed class SqliteJournal : BatchingJournal
{
    // The journals running in this process by database: the gateway's other writes to the same
    // file go through its writer (see SharedWriter).
    static readonly ConcurrentDictionary<string, SqliteJournal> Running = new();

    public SqliteJournal(Config config) : base(config, "sqlite-journal-writer")
    {
        using var connection = Open(ConnectionString);
        CreateSchema(connection);
        Running[ConnectionString] = this;
    }

    protected override void PostStop()
    {
        Running.TryRemove(new KeyValuePair<string, SqliteJournal>(ConnectionString, this));
        base.PostStop();
    }

    /// <summary>
    /// The writer of the journal running on this database, if one is: SQLite has one write lock per
    /// file, and a transaction of another connection holds it while every acceptance's commit waits
    /// (sleeping in the busy handler, which overshoots by up to 100 ms). Writes handed to this writer
    /// run inside its next batch and share its commit.
    /// </summary>
    public static Func<Action<SqliteConnection, SqliteTransaction>, Task>? SharedWriter(string connectionString) =>
        Running.TryGetValue(connectionString, out var journal) ? journal.Submit : null;

    Task Submit(Action<SqliteConnection, SqliteTransaction> write) => Enqueue(w => ((Writer)w).Run(write));

    static SqliteConnection Open(string connectionString)
    {
        var connection = new SqliteConnection(connectionString);
        connection.Open();
        using var pragma = connection.CreateCommand();
        // Per connection: every commit is on disk (WAL fsync) before the write is acknowledged. The
        // write-ahead log is cut back to 64 MiB after each checkpoint (it does not keep its peak size).
        // While another writer holds the lock (the retention pass, the storage probe), SQLite's own
        // busy handler retries within milliseconds; without it the driver retries every 150 ms, and
        // every acceptance waiting on this commit waits as long.
        pragma.CommandText = "PRAGMA synchronous=FULL; PRAGMA journal_size_limit=67108864; PRAGMA busy_timeout=30000;";
        pragma.ExecuteNonQuery();
        return connection;
    }

    protected override JournalWriter OpenWriter() => new Writer(Open(ConnectionString), Guid.NewGuid().ToString("N"));

    protected override async Task<System.Data.Common.DbConnection> OpenReaderAsync()
    {
        var connection = new SqliteConnection(ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    /// <summary>The writer thread's connection with its prepared statements.</summary>
    sealed class Writer : JournalWriter
    {
        readonly SqliteConnection _connection;
        readonly SqliteCommand _insert, _tag, _markDeleted, _maxDeleted, _deleteRows, _deleteTags;
        SqliteTransaction? _transaction;

        public Writer(SqliteConnection connection, string writerUuid)
        {
            _connection = connection;
            _insert = Command("""
                INSERT INTO journal (created, deleted, persistence_id, sequence_number, message, manifest, identifier, writer_uuid)
                VALUES ($created, 0, $pid, $seq, $message, $manifest, $identifier, $writer) RETURNING ordering
                """, "$created", "$pid", "$seq", "$message", "$manifest", "$identifier", "$writer");
            _insert.Parameters["$writer"].Value = writerUuid;
            _tag = Command("INSERT INTO tags (ordering_id, tag, sequence_nr, persistence_id) VALUES ($ordering, $tag, $seq, $pid)",
                "$ordering", "$tag", "$seq", "$pid");
            // Deleting keeps the highest deleted row (marked), so that the highest sequence number survives, as the plugin does.
            _markDeleted = Command("UPDATE journal SET deleted = 1 WHERE persistence_id = $pid AND sequence_number <= $to", "$pid", "$to");
            _maxDeleted = Command("SELECT MAX(sequence_number) FROM journal WHERE persistence_id = $pid AND deleted = 1", "$pid");
            _deleteTags = Command("DELETE FROM tags WHERE persistence_id = $pid AND sequence_nr <= $to", "$pid", "$to");
            _deleteRows = Command("DELETE FROM journal WHERE persistence_id = $pid AND sequence_number <= $to AND sequence_number < $max", "$pid", "$to", "$max");
        }

        SqliteCommand Command(string sql, params string[] parameters)
        {
            var command = _connection.CreateCommand();
            command.CommandText = sql;
            foreach (var p in parameters) command.Parameters.Add(new SqliteParameter { ParameterName = p });
            command.Prepare();
            return command;
        }

        public override void Commit(IReadOnlyList<Action<JournalWriter>> batch)
        {
            _transaction = _connection.BeginTransaction(deferred: false);
            try
            {
                foreach (var apply in batch) apply(this);
                _transaction.Commit();
            }
            finally
            {
                _transaction.Dispose();
                _transaction = null;
            }
        }

        public void Run(Action<SqliteConnection, SqliteTransaction> write) => write(_connection, _transaction!);

        T Run<T>(SqliteCommand command, Func<SqliteCommand, T> run)
        {
            command.Transaction = _transaction;
            return run(command);
        }

        public override void Insert(Row row)
        {
            var p = _insert.Parameters;
            p["$created"].Value = row.Created;
            p["$pid"].Value = row.PersistenceId;
            p["$seq"].Value = row.SequenceNr;
            p["$message"].Value = row.Message;
            p["$manifest"].Value = row.Manifest;
            p["$identifier"].Value = row.SerializerId;
            var ordering = Run(_insert, c => (long)c.ExecuteScalar()!);
            foreach (var tag in row.Tags)
            {
                var t = _tag.Parameters;
                t["$ordering"].Value = ordering;
                t["$tag"].Value = tag;
                t["$seq"].Value = row.SequenceNr;
                t["$pid"].Value = row.PersistenceId;
                Run(_tag, c => c.ExecuteNonQuery());
            }
        }

        public override void Delete(string persistenceId, long toSequenceNr)
        {
            _markDeleted.Parameters["$pid"].Value = persistenceId;
            _markDeleted.Parameters["$to"].Value = toSequenceNr;
            Run(_markDeleted, c => c.ExecuteNonQuery());
            _maxDeleted.Parameters["$pid"].Value = persistenceId;
            var max = Run(_maxDeleted, c => c.ExecuteScalar()) is long m ? m : 0;
            _deleteTags.Parameters["$pid"].Value = persistenceId;
            _deleteTags.Parameters["$to"].Value = toSequenceNr;
            Run(_deleteTags, c => c.ExecuteNonQuery());
            _deleteRows.Parameters["$pid"].Value = persistenceId;
            _deleteRows.Parameters["$to"].Value = toSequenceNr;
            _deleteRows.Parameters["$max"].Value = max;
            Run(_deleteRows, c => c.ExecuteNonQuery());
        }

        public override void Dispose()
        {
            foreach (var c in new[] { _insert, _tag, _markDeleted, _maxDeleted, _deleteRows, _deleteTags }) c.Dispose();
            _connection.Dispose();
        }
    }

    /// <summary>Akka.Persistence.Sql's tables (table-mapping default), created if missing.</summary>
    static void CreateSchema(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = """
            CREATE TABLE IF NOT EXISTS [journal]
            (
                [ordering]        INTEGER        NOT NULL PRIMARY KEY AUTOINCREMENT,
                [created]         INTEGER        NOT NULL,
                [deleted]         Bit            NOT NULL,
                [persistence_id]  NVarChar(255)  NOT NULL,
                [sequence_number] INTEGER        NOT NULL,
                [message]         VarBinary      NOT NULL,
                [manifest]        NVarChar(500)      NULL,
                [identifier]      INTEGER            NULL,
                [writer_uuid]     NVarChar(128)      NULL
            );
            CREATE UNIQUE INDEX IF NOT EXISTS journal_uq ON journal (persistence_id, sequence_number);
            CREATE INDEX IF NOT EXISTS journal_created_idx ON journal (created);
            CREATE INDEX IF NOT EXISTS journal_sequence_number_idx ON journal (sequence_number);
            CREATE TABLE IF NOT EXISTS [tags]
            (
                [ordering_id]    INTEGER       NOT NULL,
                [tag]            NVarChar(64)  NOT NULL,
                [sequence_nr]    INTEGER       NOT NULL,
                [persistence_id] NVarChar(255) NOT NULL,
                CONSTRAINT [PK_tags] PRIMARY KEY ([ordering_id], [tag])
            );
            CREATE INDEX IF NOT EXISTS tags_persistence_id_sequence_nr_idx ON tags (persistence_id, sequence_nr);
            CREATE INDEX IF NOT EXISTS tags_tag_idx ON tags (tag);
            """;
        command.ExecuteNonQuery();
    }
}
