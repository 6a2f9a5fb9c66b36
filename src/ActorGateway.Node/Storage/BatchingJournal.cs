using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Data.Common;
using System.Diagnostics;
using ActorGateway.Node.Operations;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.Journal;

namespace ActorGateway.Node.Storage;

/// <summary>
/// The gateway's journal on Akka.Persistence.Sql's own schema, so that the plugin's read
/// journal and snapshot store work on the same database unchanged. What differs from the
/// plugin is the write path: one writer thread with one open connection takes every write
/// queued meanwhile into one transaction (one commit, one fsync), instead of the plugin's
/// per-batch connection and per-row query building, which cost about as much CPU as the rest
/// of the gateway together (measured: an in-memory journal doubled the accept rate). A batch
/// that fails on a bad write (a duplicate sequence number) is retried write by write, so that
/// the bad write fails alone. The database's own part is in <see cref="JournalWriter"/>.
/// </summary>
public abstract class BatchingJournal : AsyncWriteJournal
{
    /// <summary>One event as stored: the journal table's row and its tags.</summary>
    protected sealed record Row(string PersistenceId, long SequenceNr, long Created, byte[] Message, string Manifest, int SerializerId, IReadOnlyCollection<string> Tags);

    /// <summary>The writer thread's connection: applies a batch's writes in one transaction.</summary>
    protected abstract class JournalWriter : IDisposable
    {
        public abstract void Insert(Row row);
        public abstract void Delete(string persistenceId, long toSequenceNr);
        /// <summary>Applies every write of the batch, then commits; nothing of it is stored if it throws.</summary>
        public abstract void Commit(IReadOnlyList<Action<JournalWriter>> batch);
        public abstract void Dispose();
    }

    sealed record Work(Action<JournalWriter> Apply, TaskCompletionSource Done, long Queued);

    protected readonly string ConnectionString;
    readonly Akka.Serialization.Serialization _serialization;
    readonly ConcurrentQueue<Work> _queue = new();
    // Set when work is queued. No spinning before it blocks (a spinning wait cost CPU on two cores).
    readonly ManualResetEventSlim _queued = new(false, spinCount: 0);
    volatile bool _stopping;
    readonly Thread _writer;
    const int MaxBatch = 500;

    protected BatchingJournal(Config config, string threadName)
    {
        ConnectionString = config.GetString("connection-string");
        _serialization = Context.System.Serialization;
        // A thread of its own, not the thread pool: every 250 waits for this loop, and it must not
        // wait for a free pool thread when the pool is busy.
        _writer = new Thread(WriteLoop) { IsBackground = true, Name = threadName };
    }

    // Started once the derived journal's constructor has succeeded (a failed one gets no PostStop).
    protected override void PreStart()
    {
        base.PreStart();
        _writer.Start();
    }

    /// <summary>A new connection for the writer thread, its tables created if missing.</summary>
    protected abstract JournalWriter OpenWriter();

    /// <summary>A connection for a read (pooled; it must not wait for the writer).</summary>
    protected abstract Task<DbConnection> OpenReaderAsync();

    /// <summary>Whether a failed batch is worth retrying write by write: not when the database is unreachable.</summary>
    protected virtual bool FailedOnOneWrite(Exception e) => true;

    protected override void PostStop()
    {
        _stopping = true;
        _queued.Set();
        if (_writer.IsAlive) _writer.Join(TimeSpan.FromSeconds(10));
        base.PostStop();
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

    protected override Task DeleteMessagesToAsync(string persistenceId, long toSequenceNr, CancellationToken cancellationToken) =>
        Enqueue(w => w.Delete(persistenceId, toSequenceNr));

    /// <summary>Queues a unit of writing for the writer thread; done when its batch has committed.</summary>
    protected Task Enqueue(Action<JournalWriter> apply)
    {
        var work = new Work(apply, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), Stopwatch.GetTimestamp());
        if (_stopping) work.Done.SetException(new InvalidOperationException("the journal is stopping"));
        else { _queue.Enqueue(work); _queued.Set(); }
        return work.Done.Task;
    }

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
        JournalWriter? writer = null;
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
                writer ??= OpenWriter();
                writer.Commit(batch.ConvertAll(w => w.Apply));
                foreach (var w in batch)
                {
                    GatewayMetrics.Instance.JournalWritten(Stopwatch.GetElapsedTime(w.Queued));
                    w.Done.TrySetResult();
                }
            }
            catch (Exception e) when (batch.Count > 1 && FailedOnOneWrite(e))
            {
                // One at a time, so that only the write that fails reports a failure.
                foreach (var w in batch)
                    try { writer ??= OpenWriter(); writer.Commit([w.Apply]); w.Done.TrySetResult(); }
                    catch (Exception one) { w.Done.TrySetException(one); writer = Reset(writer); }
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
    static JournalWriter? Reset(JournalWriter? writer)
    {
        try { writer?.Dispose(); } catch (Exception) { /* a broken connection may fail to close; it is dropped either way */ }
        return null;
    }

    // ---- reads (their own pooled connections) ----

    public override async Task ReplayMessagesAsync(IActorContext context, string persistenceId, long fromSequenceNr, long toSequenceNr, long max,
        Action<IPersistentRepresentation> recoveryCallback)
    {
        if (max <= 0) return;
        await using var connection = await OpenReaderAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT sequence_number, message, manifest, identifier, writer_uuid, created FROM journal
            WHERE persistence_id = @pid AND sequence_number >= @from AND sequence_number <= @to AND deleted = false
            ORDER BY sequence_number LIMIT @max
            """;
        command.Parameters.Add(GatewayDatabase.Parameter(command, "@pid", persistenceId));
        command.Parameters.Add(GatewayDatabase.Parameter(command, "@from", fromSequenceNr));
        command.Parameters.Add(GatewayDatabase.Parameter(command, "@to", toSequenceNr));
        command.Parameters.Add(GatewayDatabase.Parameter(command, "@max", max));
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
        await using var connection = await OpenReaderAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT MAX(sequence_number) FROM journal WHERE persistence_id = @pid";
        command.Parameters.Add(GatewayDatabase.Parameter(command, "@pid", persistenceId));
        return await command.ExecuteScalarAsync(cancellationToken) is long highest ? highest : 0;
    }
}
