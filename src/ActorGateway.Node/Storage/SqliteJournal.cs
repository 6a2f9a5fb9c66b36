using System.Collections.Immutable;
using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.Journal;
using Akka.Serialization;
using Microsoft.Data.Sqlite;

namespace ActorGateway.Node.Storage;

/// <summary>
/// The journal of the embedded default (one node, SQLite), on Akka.Persistence.Sql's own
/// schema, so that its read journal (the queue sweeper's tag queries) and snapshot store work
/// on the same database unchanged. What differs is the write path: one writer thread with one
/// open connection and prepared statements takes every write queued meanwhile into one
/// transaction (one fsync), instead of the plugin's per-batch connection and per-row query
/// building, which cost about as much CPU as the rest of the gateway together (measured: an
/// in-memory journal doubled the accept rate). A batch that fails is retried write by write,
/// so that one bad write (a duplicate sequence number) fails only its own persist.
/// PostgreSQL (the cluster) keeps the plugin's journal.
/// </summary>
public sealed class SqliteJournal : AsyncWriteJournal
{
    /// <summary>One unit of the writer: applied inside the batch's transaction.</summary>
    sealed record Work(Action<Writer> Apply, TaskCompletionSource Done);

    readonly string _connectionString;
    readonly Akka.Serialization.Serialization _serialization;
    readonly ConcurrentQueue<Work> _queue = new();
    // Set when work is queued. No spinning before it blocks (a spinning wait cost CPU on two cores).
    readonly ManualResetEventSlim _queued = new(false, spinCount: 0);
    volatile bool _stopping;
    readonly Thread _writer;
    const int MaxBatch = 500;

    public SqliteJournal(Config config)
    {
        _connectionString = config.GetString("connection-string");
        _serialization = Context.System.Serialization;
        using (var connection = Open()) CreateSchema(connection);
        // A thread of its own, not the thread pool: every 250 waits for this loop, and it must not
        // wait for a free pool thread when the pool is busy.
        _writer = new Thread(WriteLoop) { IsBackground = true, Name = "sqlite-journal-writer" };
        _writer.Start();
    }

    protected override void PostStop()
    {
        _stopping = true;
        _queued.Set();
        _writer.Join(TimeSpan.FromSeconds(10));
        base.PostStop();
    }

    SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        using var pragma = connection.CreateCommand();
        // Per connection: every commit is on disk (WAL fsync) before the write is acknowledged. The
        // write-ahead log is cut back to 64 MiB after each checkpoint (it does not keep its peak size).
        // While another writer holds the lock (the sweeper deleting completed mail), SQLite's own
        // busy handler retries within milliseconds; without it the driver retries every 150 ms,
        // and every acceptance waiting on this commit waits as long.
        pragma.CommandText = "PRAGMA synchronous=FULL; PRAGMA journal_size_limit=67108864; PRAGMA busy_timeout=30000;";
        pragma.ExecuteNonQuery();
        return connection;
    }

    // ---- writes ----

    protected override async Task<IImmutableList<Exception?>> WriteMessagesAsync(IEnumerable<AtomicWrite> messages, CancellationToken cancellationToken)
    {
        var results = new List<Exception?>();
        var pending = new List<Task>();
        foreach (var write in messages)
        {
            List<Row> rows;
            try
            {
                rows = ((IImmutableList<IPersistentRepresentation>)write.Payload).Select(ToRow).ToList();
            }
            catch (Exception e)
            {
                results.Add(e); // rejected: not serializable, nothing written
                continue;
            }
            results.Add(null);
            pending.Add(Enqueue(w => { foreach (var row in rows) w.Insert(row); }));
        }
        await Task.WhenAll(pending); // a failed write fails the whole request, as the protocol says
        return results.ToImmutableList();
    }

    protected override Task DeleteMessagesToAsync(string persistenceId, long toSequenceNr, CancellationToken cancellationToken) => Enqueue(w => w.Delete(persistenceId, toSequenceNr));

    Task Enqueue(Action<Writer> apply)
    {
        var work = new Work(apply, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        if (_stopping) work.Done.SetException(new InvalidOperationException("the journal is stopping"));
        else { _queue.Enqueue(work); _queued.Set(); }
        return work.Done.Task;
    }

    sealed record Row(string PersistenceId, long SequenceNr, long Created, byte[] Message, string Manifest, int SerializerId, IReadOnlyCollection<string> Tags);

    Row ToRow(IPersistentRepresentation p)
    {
        var (payload, tags) = p.Payload is Tagged t ? (t.Payload, (IReadOnlyCollection<string>)t.Tags.ToArray()) : (p.Payload, []);
        var serializer = _serialization.FindSerializerFor(payload);
        var manifest = Akka.Serialization.Serialization.ManifestFor(serializer, payload);
        var bytes = Akka.Serialization.Serialization.WithTransport(_serialization.System, () => serializer.ToBinary(payload));
        return new Row(p.PersistenceId, p.SequenceNr, p.Timestamp > 0 ? p.Timestamp : DateTime.UtcNow.Ticks, bytes, manifest, serializer.Identifier, tags);
    }

    void WriteLoop()
    {
        Writer? writer = null;
        var batch = new List<Work>(MaxBatch);
        while (true)
        {
            _queued.Wait();
            _queued.Reset(); // before taking: work queued from now on sets it again
            if (_queue.IsEmpty) { if (_stopping) break; continue; }
            batch.Clear();
            while (batch.Count < MaxBatch && _queue.TryDequeue(out var work)) batch.Add(work);
            if (!_queue.IsEmpty) _queued.Set(); // more than one batch queued
            try
            {
                writer ??= new Writer(Open(), Guid.NewGuid().ToString("N"));
                writer.Commit(batch);
                foreach (var w in batch) w.Done.TrySetResult();
            }
            catch (Exception) when (batch.Count > 1)
            {
                // One at a time, so that only the write that fails reports a failure.
                foreach (var w in batch)
                    try { writer ??= new Writer(Open(), Guid.NewGuid().ToString("N")); writer.Commit([w]); w.Done.TrySetResult(); }
                    catch (Exception e) { w.Done.TrySetException(e); writer = Reset(writer); }
            }
            catch (Exception e)
            {
                foreach (var w in batch) w.Done.TrySetException(e);
                writer = Reset(writer);
            }
        }
        writer?.Dispose();
    }

    // After a failure the connection is opened anew (it may be what failed).
    static Writer? Reset(Writer? writer)
    {
        try { writer?.Dispose(); } catch (Exception) { /* a broken connection may fail to close; it is dropped either way */ }
        return null;
    }

    /// <summary>The writer thread's connection with its prepared statements.</summary>
    sealed class Writer : IDisposable
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

        public void Commit(IReadOnlyList<Work> batch)
        {
            _transaction = _connection.BeginTransaction(deferred: false);
            try
            {
                foreach (var w in batch) w.Apply(this);
                _transaction.Commit();
            }
            finally
            {
                _transaction.Dispose();
                _transaction = null;
            }
        }

        T Run<T>(SqliteCommand command, Func<SqliteCommand, T> run)
        {
            command.Transaction = _transaction;
            return run(command);
        }

        public void Insert(Row row)
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

        public void Delete(string persistenceId, long toSequenceNr)
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

        public void Dispose()
        {
            foreach (var c in new[] { _insert, _tag, _markDeleted, _maxDeleted, _deleteRows, _deleteTags }) c.Dispose();
            _connection.Dispose();
        }
    }

    // ---- reads (their own pooled connections: under WAL they never wait for the writer) ----

    public override async Task ReplayMessagesAsync(IActorContext context, string persistenceId, long fromSequenceNr, long toSequenceNr, long max,
        Action<IPersistentRepresentation> recoveryCallback)
    {
        if (max <= 0) return;
        await using var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT sequence_number, message, manifest, identifier, writer_uuid, created FROM journal
            WHERE persistence_id = $pid AND sequence_number >= $from AND sequence_number <= $to AND deleted = 0
            ORDER BY sequence_number LIMIT $max
            """;
        command.Parameters.AddWithValue("$pid", persistenceId);
        command.Parameters.AddWithValue("$from", fromSequenceNr);
        command.Parameters.AddWithValue("$to", toSequenceNr);
        command.Parameters.AddWithValue("$max", max);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var manifest = reader.IsDBNull(2) ? "" : reader.GetString(2);
            var payload = _serialization.Deserialize((byte[])reader[1], reader.GetInt32(3), manifest);
            recoveryCallback(new Persistent(payload, reader.GetInt64(0), persistenceId, "", false, null,
                reader.IsDBNull(4) ? null : reader.GetString(4), reader.GetInt64(5)));
        }
    }

    public override async Task<long> ReadHighestSequenceNrAsync(string persistenceId, long fromSequenceNr, CancellationToken cancellationToken)
    {
        await using var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT MAX(sequence_number) FROM journal WHERE persistence_id = $pid";
        command.Parameters.AddWithValue("$pid", persistenceId);
        return await command.ExecuteScalarAsync() is long highest ? highest : 0;
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
