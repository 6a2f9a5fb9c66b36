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
        // SQLite: the gateway's own journal writer on the plugin's schema (SqliteJournal); the
        // plugin's journal section stays configured, its read journal and snapshot store use it.
        var journal = sqlite ? $$"""
            akka.persistence.journal {
              plugin = "akka.persistence.journal.gateway-sqlite"
              gateway-sqlite {
                class = "{{typeof(SqliteJournal).AssemblyQualifiedName}}"
                plugin-dispatcher = "akka.actor.default-dispatcher"
                connection-string = "{{cs}}"
              }
            }
            """ : "";
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
              # A gap in the journal's orderings (an insert not yet committed, or rolled back by a node
              # that died) holds tag queries back for query-delay x max-tries before it counts as
              # empty: 1 s here instead of 10 s, since a failover produces such gaps and the queue
              # sweeper must read past them quickly. The sweeper re-reads a margin (QueueSweeper),
              # so an insert that commits even later is still seen. refresh-interval: how long a
              # tag query that is behind the newest ordering waits before it reads again (the
              # sweeper's reads are short "current" queries; 1 s per wait made each sweep take seconds).
              # max-backoff-query-delay: while the database is down, the read journal's look-up of the
              # newest ordering backs off, doubling its pause up to this; each tag query waits for that
              # look-up to pass the database's newest row: after an outage every sweep (and with it the
              # queue's recovery) would wait for the next look-up, up to the plugin's default of 60 s.
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
