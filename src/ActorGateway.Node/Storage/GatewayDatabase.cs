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
        try { await connection.OpenAsync(ct); }
        catch { await connection.DisposeAsync(); throw; }
        return connection;
    }
}
