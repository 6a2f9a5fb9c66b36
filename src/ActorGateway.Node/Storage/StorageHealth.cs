using ActorGateway.Node.Configuration;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace ActorGateway.Node.Storage;

/// <summary>
/// Whether this node can store mail now, for /health/ready, and the log's account of storage
/// failing and coming back. Ready means able to accept mail durably, so a read that answers is
/// not enough: the check commits a small write (one row per node), and no journal write of
/// accepted mail may have failed in the last <see cref="FailureHold"/>. The second rule matters
/// on a full disk, where a probe row can still fit into pages SQLite reuses while a message no
/// longer does; it also covers the journal's circuit breaker, which refuses writes for a while
/// after the database is back.
/// </summary>
public sealed class StorageHealth(StorageProvider provider, string connectionString, string node, ILogger log)
{
    /// <summary>How long a failed journal write keeps the node not ready (clients are refused meanwhile anyway).</summary>
    public static readonly TimeSpan FailureHold = TimeSpan.FromSeconds(5);
    static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(3);

    readonly Lock _lock = new();
    DateTime? _failingSince;
    DateTime _lastFailure, _backAt;
    string _lastError = "";
    int _failures;
    // Failures right after storage came back (the journal's circuit breaker lets one write through
    // at first and fails the others fast) are not logged as a new outage unless they last.
    bool _quiet;

    /// <summary>The probe's table, created if missing; at start-up, with the other tables of the gateway.</summary>
    public static async Task CreateTableAsync(StorageProvider provider, string connectionString)
    {
        await using var connection = await GatewayDatabase.OpenAsync(provider, connectionString);
        await GatewayDatabase.CreateSchemaAsync(connection, "CREATE TABLE IF NOT EXISTS gateway_storage_probe (node VARCHAR(255) NOT NULL PRIMARY KEY, probed_at BIGINT NOT NULL)");
    }

    /// <summary>A journal write of new mail committed.</summary>
    public void WriteSucceeded()
    {
        lock (_lock)
        {
            if (_failingSince is not { } since) return;
            if (!_quiet)
            {
                log.LogInformation("storage back: journal writes succeed again after {Failures} failed write(s) in {Seconds:0.0} s",
                    _failures, (DateTime.UtcNow - since).TotalSeconds);
                _backAt = DateTime.UtcNow;
            }
            _failingSince = null;
            _failures = 0;
        }
    }

    /// <summary>A journal write of new mail failed (or did not finish in time): that mail was refused with 451.</summary>
    public void WriteFailed(string error)
    {
        lock (_lock)
        {
            var now = DateTime.UtcNow;
            _lastFailure = now;
            _lastError = error;
            _failures++;
            if (_failingSince is null)
            {
                _failingSince = now;
                _quiet = now - _backAt < FailureHold;
                if (_quiet) return;
            }
            else if (!_quiet || now - _failingSince < FailureHold) return;
            _quiet = false;
            log.LogError("journal write failed: {Error}; new mail is answered 451 4.3.0 until storage takes writes again", error);
        }
    }

    /// <summary>Whether mail can be stored now, and if not, why.</summary>
    public async Task<(bool Ready, string Why)> CheckAsync(CancellationToken ct)
    {
        lock (_lock)
        {
            var ago = DateTime.UtcNow - _lastFailure;
            if (_failingSince is not null && ago < FailureHold)
                return (false, $"a journal write failed {ago.TotalSeconds:0.0} s ago ({_lastError})");
        }
        try
        {
            await ProbeAsync(ct);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            var error = e is OperationCanceledException ? $"no answer within {ProbeTimeout.TotalSeconds:0} s" : e.Message;
            WriteFailed($"write probe: {error}");
            return (false, $"a write probe failed ({error})");
        }
        WriteSucceeded();
        return (true, "takes writes");
    }

    /// <summary>Commits one row: the same path (connection, lock, fsync) a journal write takes.</summary>
    async Task ProbeAsync(CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(ProbeTimeout);
        var sqlite = provider == StorageProvider.Sqlite;
        await using var connection = await GatewayDatabase.OpenAsync(provider, connectionString, timeout.Token);
        await using var command = connection.CreateCommand();
        command.CommandText = (sqlite ? "PRAGMA synchronous=FULL; " : "") +
                              "INSERT INTO gateway_storage_probe (node, probed_at) VALUES (@node, @at) ON CONFLICT (node) DO UPDATE SET probed_at = excluded.probed_at";
        var nodeParameter = command.CreateParameter();
        nodeParameter.ParameterName = "@node";
        nodeParameter.Value = node;
        command.Parameters.Add(nodeParameter);
        var at = command.CreateParameter();
        at.ParameterName = "@at";
        at.Value = DateTime.UtcNow.Ticks;
        command.Parameters.Add(at);
        await command.ExecuteNonQueryAsync(timeout.Token);
    }
}
