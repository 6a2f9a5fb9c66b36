using Akka.Configuration;
using Npgsql;
using NpgsqlTypes;

namespace ActorGateway.Node.Storage;

/// <summary>
/// The cluster's journal (PostgreSQL): see <see cref="BatchingJournal"/>. A batch goes to the
/// server as one NpgsqlBatch inside its transaction, so a batch of any size costs two round
/// trips (the statements, the commit); each event and its tags are one statement.
/// </summary>
public sealed class PostgresJournal : BatchingJournal
{
    // An event and its tags in one statement: the tags need the ordering the insert assigns.
    const string InsertSql = """
        WITH j AS (
          INSERT INTO journal (created, deleted, persistence_id, sequence_number, message, manifest, identifier, writer_uuid)
          VALUES ($1, false, $2, $3, $4, $5, $6, $7) RETURNING ordering)
        INSERT INTO tags (ordering_id, tag, sequence_nr, persistence_id) SELECT j.ordering, t, $3, $2 FROM j, unnest($8::text[]) AS t
        """;

    // Deleting keeps the highest deleted row (marked), so that the highest sequence number survives, as the plugin does.
    static readonly string[] DeleteSql =
    [
        "UPDATE journal SET deleted = true WHERE persistence_id = $1 AND sequence_number <= $2",
        "DELETE FROM tags WHERE persistence_id = $1 AND sequence_nr <= $2",
        """
        DELETE FROM journal WHERE persistence_id = $1 AND sequence_number <= $2
          AND sequence_number < (SELECT COALESCE(MAX(sequence_number), 0) FROM journal WHERE persistence_id = $1 AND deleted)
        """,
    ];

    volatile bool _schemaReady;

    public PostgresJournal(Config config) : base(config, "pg-journal-writer") { }

    protected override JournalWriter OpenWriter()
    {
        var connection = new NpgsqlConnection(ConnectionString);
        try
        {
            connection.Open();
            if (!_schemaReady) { CreateSchema(connection); _schemaReady = true; }
            return new Writer(connection, Guid.NewGuid().ToString("N"));
        }
        catch { connection.Dispose(); throw; }
    }

    protected override async Task<System.Data.Common.DbConnection> OpenReaderAsync()
    {
        var connection = new NpgsqlConnection(ConnectionString);
        try
        {
            await connection.OpenAsync();
            if (!_schemaReady) { CreateSchema(connection); _schemaReady = true; }
            return connection;
        }
        catch { await connection.DisposeAsync(); throw; }
    }

    // An error the server reported (a duplicate sequence number) belongs to one write; anything
    // else (the server unreachable, a timeout) would fail each write again, one timeout at a time.
    protected override bool FailedOnOneWrite(Exception e) => e is PostgresException;

    sealed class Writer(NpgsqlConnection connection, string writerUuid) : JournalWriter
    {
        NpgsqlBatch? _batch;

        public override void Commit(IReadOnlyList<Action<JournalWriter>> batch)
        {
            using var transaction = connection.BeginTransaction();
            using var statements = new NpgsqlBatch(connection, transaction);
            _batch = statements;
            try
            {
                foreach (var apply in batch) apply(this);
                if (statements.BatchCommands.Count > 0) statements.ExecuteNonQuery();
                transaction.Commit();
            }
            finally { _batch = null; }
        }

        public override void Insert(Row row) => _batch!.BatchCommands.Add(new NpgsqlBatchCommand(InsertSql)
        {
            Parameters =
            {
                new NpgsqlParameter<long> { TypedValue = row.Created },
                new NpgsqlParameter<string> { TypedValue = row.PersistenceId },
                new NpgsqlParameter<long> { TypedValue = row.SequenceNr },
                new NpgsqlParameter<byte[]> { TypedValue = row.Message },
                new NpgsqlParameter<string> { TypedValue = row.Manifest },
                new NpgsqlParameter<int> { TypedValue = row.SerializerId },
                new NpgsqlParameter<string> { TypedValue = writerUuid },
                new NpgsqlParameter<string[]> { TypedValue = row.Tags.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text },
            },
        });

        public override void Delete(string persistenceId, long toSequenceNr)
        {
            foreach (var sql in DeleteSql)
                _batch!.BatchCommands.Add(new NpgsqlBatchCommand(sql)
                {
                    Parameters = { new NpgsqlParameter<string> { TypedValue = persistenceId }, new NpgsqlParameter<long> { TypedValue = toSequenceNr } },
                });
        }

        public override void Dispose() => connection.Dispose();
    }

    /// <summary>Akka.Persistence.Sql's tables (table-mapping default, as its PostgreSQL provider creates them), created if missing.</summary>
    static void CreateSchema(NpgsqlConnection connection) => GatewayDatabase.CreateSchemaAsync(connection, """
            CREATE TABLE IF NOT EXISTS journal (
              ordering bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
              created bigint NOT NULL,
              deleted boolean NOT NULL,
              persistence_id text NOT NULL,
              sequence_number bigint NOT NULL,
              message bytea NOT NULL,
              manifest text NULL,
              identifier integer NULL,
              writer_uuid text NULL,
              CONSTRAINT "PK_journal" PRIMARY KEY (ordering),
              CONSTRAINT journal_uq UNIQUE (persistence_id, sequence_number));
            CREATE INDEX IF NOT EXISTS journal_created_idx ON journal (created);
            CREATE INDEX IF NOT EXISTS journal_sequence_number_idx ON journal (sequence_number);
            CREATE TABLE IF NOT EXISTS tags (
              ordering_id bigint NOT NULL,
              tag text NOT NULL,
              sequence_nr bigint NOT NULL,
              persistence_id text NOT NULL,
              CONSTRAINT "PK_tags" PRIMARY KEY (ordering_id, tag));
            CREATE INDEX IF NOT EXISTS tags_persistence_id_sequence_nr_idx ON tags (persistence_id, sequence_nr);
            CREATE INDEX IF NOT EXISTS tags_tag_idx ON tags (tag);
            """).GetAwaiter().GetResult();
}
