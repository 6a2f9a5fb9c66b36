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
    public static Config PersistenceConfig(GatewaySettings settings)
    {
        var provider = settings.Storage == StorageProvider.Sqlite ? "SQLite.MS" : "PostgreSQL.15";
        var cs = settings.ConnectionString.Replace("\\", "\\\\").Replace("\"", "\\\"");
        var hocon = $$"""
            akka.persistence {
              journal.sql { provider-name = "{{provider}}", connection-string = "{{cs}}", auto-initialize = on, table-mapping = default }
              snapshot-store.sql { provider-name = "{{provider}}", connection-string = "{{cs}}", auto-initialize = on, table-mapping = default }
              query.journal.sql { provider-name = "{{provider}}", connection-string = "{{cs}}", table-mapping = default,
                                  write-plugin = "akka.persistence.journal.sql", refresh-interval = 1s }
            }
            """;
        return ConfigurationFactory.ParseString(hocon).WithFallback(Akka.Persistence.Sql.SqlPersistence.DefaultConfiguration);
    }

    /// <summary>Before the actor system starts: the data directory exists and SQLite is in WAL mode.</summary>
    public static void Prepare(GatewaySettings settings)
    {
        Directory.CreateDirectory(settings.DataDirectory);
        if (settings.Storage != StorageProvider.Sqlite) return;
        using var connection = new SqliteConnection(settings.ConnectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        // WAL with synchronous=FULL: every commit is on disk before the journal acknowledges it.
        command.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;";
        command.ExecuteNonQuery();
    }
}
