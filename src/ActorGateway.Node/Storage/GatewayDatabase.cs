using System.Data.Common;
using ActorGateway.Node.Configuration;
using Microsoft.Data.Sqlite;

namespace ActorGateway.Node.Storage;

/// <summary>A connection to the queue's database (SQLite on one node, PostgreSQL in the cluster) for the gateway's own SQL.</summary>
public static class GatewayDatabase
{
    public static async Task<DbConnection> OpenAsync(StorageProvider provider, string connectionString, CancellationToken ct = default)
    {
        DbConnection connection = provider == StorageProvider.Sqlite ? new SqliteConnection(connectionString) : new Npgsql.NpgsqlConnection(connectionString);
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
}
