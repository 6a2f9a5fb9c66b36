using ActorGateway.Node.Configuration;
using ActorGateway.Node.Storage;
using ActorGateway.Testing;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace ActorGateway.Gateway.Tests.Storage;

/// <summary>
/// Readiness of the store means that mail can be stored now: a write commits, and no journal
/// write of accepted mail failed just before; an outage is logged once, and its end once.
/// </summary>
public sealed class StorageHealthTests
{
    sealed class ListLogger : ILogger
    {
        public List<string> Lines { get; } = [];
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Add($"{logLevel}: {formatter(state, exception)}");
    }

    [Fact]
    public async Task A_store_that_takes_a_write_is_ready_and_keeps_one_probe_row_per_node()
    {
        using var dir = new TempDirectory();
        var cs = $"Data Source={dir.File("gateway.db")}";
        await StorageHealth.CreateTableAsync(StorageProvider.Sqlite, cs);
        var health = new StorageHealth(StorageProvider.Sqlite, cs, "gw-1", new ListLogger());

        Assert.Equal((true, "takes writes"), await health.CheckAsync(CancellationToken.None));
        Assert.True((await health.CheckAsync(CancellationToken.None)).Ready);
        await using var connection = new SqliteConnection(cs);
        await connection.OpenAsync();
        await using var count = connection.CreateCommand();
        count.CommandText = "SELECT COUNT(*) FROM gateway_storage_probe WHERE node = 'gw-1'";
        Assert.Equal(1L, await count.ExecuteScalarAsync());
        SqliteConnection.ClearAllPools();
    }

    [Fact]
    public async Task A_failed_journal_write_makes_it_not_ready_and_the_outage_is_logged_once_with_its_end()
    {
        using var dir = new TempDirectory();
        var log = new ListLogger();
        await StorageHealth.CreateTableAsync(StorageProvider.Sqlite, $"Data Source={dir.File("gateway.db")}");
        var health = new StorageHealth(StorageProvider.Sqlite, $"Data Source={dir.File("gateway.db")}", "gw-1", log);

        // The probe row would still fit (a full disk can leave room for it): the mail that failed decides.
        for (var i = 0; i < 3; i++) health.WriteFailed("SQLite Error 13: 'database or disk is full'.");
        var (ready, why) = await health.CheckAsync(CancellationToken.None);
        Assert.False(ready);
        Assert.Contains("database or disk is full", why);
        Assert.Equal(["Error: journal write failed: SQLite Error 13: 'database or disk is full'.; new mail is answered 451 4.3.0 until storage takes writes again"], log.Lines);

        health.WriteSucceeded();
        Assert.Matches(@"^Information: storage back: journal writes succeed again after 3 failed write\(s\) in \d+\.\d s$", log.Lines[^1]);
        Assert.True((await health.CheckAsync(CancellationToken.None)).Ready);
        // A write refused right after the return (the circuit breaker's first probing write) is no new outage.
        health.WriteFailed("Circuit breaker is half open");
        health.WriteSucceeded();
        Assert.Equal(2, log.Lines.Count);
        SqliteConnection.ClearAllPools();
    }

    [Fact]
    public async Task A_store_that_answers_reads_but_refuses_writes_is_not_ready()
    {
        using var dir = new TempDirectory();
        var file = dir.File("gateway.db");
        await StorageHealth.CreateTableAsync(StorageProvider.Sqlite, $"Data Source={file}");
        var log = new ListLogger();
        var health = new StorageHealth(StorageProvider.Sqlite, $"Data Source={file};Mode=ReadOnly", "gw-1", log);

        var (ready, why) = await health.CheckAsync(CancellationToken.None);
        Assert.False(ready);
        Assert.StartsWith("a write probe failed", why);
        Assert.Single(log.Lines, l => l.StartsWith("Error: journal write failed: write probe:"));
        SqliteConnection.ClearAllPools();
    }
}
