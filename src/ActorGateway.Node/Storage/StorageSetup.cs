using ActorGateway.Node.Configuration;
using Akka.Configuration;
using Microsoft.Data.Sqlite;

namespace ActorGateway.Node.Storage;

/// <summary>
/// Wires Akka.Persistence.Sql to the configured database: SQLite (WAL) for one node,
/// PostgreSQL for the cluster. The journal is where a 250 becomes a promise.
/// </summary>
public static class StorageSetup
{
    /// <summary>
    /// The full configuration: the database connection from gateway.storage on top, then the
    /// operator's HOCON, then per-provider defaults, then the plugin's own defaults, so that an
    /// operator can still tune any akka.persistence setting.
    /// </summary>
    public static Config WithPersistence(Config config, GatewaySettings settings)
    {
        var sqlite = settings.Storage == StorageProvider.Sqlite;
        var provider = sqlite ? "SQLite.MS" : "PostgreSQL.15";
        var cs = settings.ConnectionString.Replace("\\", "\\\\").Replace("\"", "\\\"");
        // The gateway's own journal writer and snapshot store on the plugin's schema (BatchingJournal,
        // SqlSnapshotStore); the plugin's journal section stays configured for its read journal.
        var journalClass = sqlite ? typeof(SqliteJournal) : typeof(PostgresJournal);
        var journal = $$"""
            akka.persistence.journal {
              plugin = "akka.persistence.journal.gateway"
              gateway {
                class = "{{journalClass.AssemblyQualifiedName}}"
                plugin-dispatcher = "akka.actor.default-dispatcher"
                connection-string = "{{cs}}"
              }
            }
            akka.persistence.snapshot-store {
              plugin = "akka.persistence.snapshot-store.gateway"
              gateway {
                class = "{{typeof(SqlSnapshotStore).AssemblyQualifiedName}}"
                plugin-dispatcher = "akka.actor.default-dispatcher"
                provider = {{(sqlite ? "sqlite" : "postgresql")}}
                connection-string = "{{cs}}"
              }
            }
            """;
        var connection = $$"""
            {{journal}}
            akka.persistence {
              journal.sql { provider-name = "{{provider}}", connection-string = "{{cs}}" }
              snapshot-store.sql { provider-name = "{{provider}}", connection-string = "{{cs}}" }
              query.journal.sql { provider-name = "{{provider}}", connection-string = "{{cs}}" }
            }
            """;
        // SQLite has one write lock. Several journal writers only queue on it (each loser sleeping
        // in the driver's busy loop), while one writer batches all concurrent persists into one
        // commit. Reads must not take the lock at all: Microsoft.Data.Sqlite begins transactions
        // IMMEDIATE (write lock) unless read-uncommitted, which it opens DEFERRED, a plain
        // snapshot read under WAL.
        var reads = sqlite ? "read-uncommitted" : "unspecified";
        var providerDefaults = $$"""
            akka.persistence {
              journal.sql { auto-initialize = on, table-mapping = default, parallelism = {{(sqlite ? 1 : 3)}}, read-isolation-level = {{reads}} }
              snapshot-store.sql { auto-initialize = on, table-mapping = default, read-isolation-level = {{reads}} }
              # The node reads its queue tags itself (QueueJournalReader); the plugin's read journal stays
              # configured for tools that query the journal, with short waits on gaps in the orderings.
              # max-backoff-query-delay: while the database is down, its look-up of the newest ordering
              # backs off up to this, and every tag query waits for the next look-up (the plugin's
              # default of 60 s would hold such queries that long after an outage).
              query.journal.sql {
                table-mapping = default, write-plugin = "akka.persistence.journal.sql", refresh-interval = 100ms, read-isolation-level = {{reads}}
                journal-sequence-retrieval { query-delay = 100ms, max-tries = 10, max-backoff-query-delay = 2s }
              }
            }
            """;
        return ConfigurationFactory.ParseString(connection)
            .WithFallback(config)
            .WithFallback(ConfigurationFactory.ParseString(providerDefaults))
            .WithFallback(Akka.Persistence.Sql.SqlPersistence.DefaultConfiguration);
    }

    /// <summary>Before the actor system starts: the data directory exists and SQLite is in WAL mode.</summary>
    public static void Prepare(GatewaySettings settings)
    {
        Directory.CreateDirectory(settings.DataDirectory);
        if (settings.Storage != StorageProvider.Sqlite) return;
        using var connection = new SqliteConnection(settings.ConnectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        // Completed messages are deleted (see DeliveryRecordStore): with incremental auto-vacuum the
        // retention pass can hand their pages back, so the file shrinks after a busy spell instead of
        // keeping its largest size. The mode can only change before the first table or by a VACUUM,
        // which a database from before this setting gets once here.
        command.CommandText = "PRAGMA auto_vacuum";
        if (Convert.ToInt64(command.ExecuteScalar()) != 2)
        {
            command.CommandText = "PRAGMA auto_vacuum=INCREMENTAL; VACUUM;";
            command.ExecuteNonQuery();
        }
        // WAL with synchronous=FULL: every commit is on disk before the journal acknowledges it.
        command.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;";
        command.ExecuteNonQuery();
    }
}
