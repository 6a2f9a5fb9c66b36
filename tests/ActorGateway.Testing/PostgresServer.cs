namespace ActorGateway.Testing;

/// <summary>
/// A real PostgreSQL 15 server for one test: a fresh cluster (initdb as user postgres, which
/// refuses root) in a temporary directory, listening on a free loopback port.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    const string Bin = "/usr/lib/postgresql/15/bin";
    readonly string _dir;
    public int Port { get; }
    public string ConnectionString(string database = "postgres") =>
        $"Host=127.0.0.1;Port={Port};Username=postgres;Database={database};Timeout=5;Command Timeout=10";

    PostgresServer(string dir, int port) { _dir = dir; Port = port; }

    public static async Task<PostgresServer> StartAsync()
    {
        if (!File.Exists(Path.Combine(Bin, "initdb")))
            throw new InvalidOperationException("PostgreSQL 15 is not installed; run the README's test command (it installs the Debian package postgresql).");
        var dir = Path.Combine(Path.GetTempPath(), "agw-pg-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        await RunAsPostgresAsync($"chown postgres {dir}", asRoot: true);
        await RunAsPostgresAsync($"{Bin}/initdb -D {dir}/data -U postgres --auth=trust -E UTF8 >/dev/null");
        var server = new PostgresServer(dir, FreePort.Next());
        await server.StartServerAsync();
        return server;
    }

    async Task StartServerAsync()
    {
        await RunAsPostgresAsync($"{Bin}/pg_ctl -D {_dir}/data -l {_dir}/log -w -t 30 -o \"-c listen_addresses=127.0.0.1 -p {Port} -k {_dir} -c fsync=on\" start >/dev/null");
        await FreePort.WaitUntilListeningAsync("127.0.0.1", Port, TimeSpan.FromSeconds(15));
    }

    /// <summary>Stops the server at once (like a crash of the database host).</summary>
    public Task StopAsync() => RunAsPostgresAsync($"{Bin}/pg_ctl -D {_dir}/data -m immediate -w stop >/dev/null");

    public Task RestartAsync() => StartServerAsync();

    static async Task RunAsPostgresAsync(string command, bool asRoot = false)
    {
        var p = asRoot
            ? await ExternalProcess.RunAsync("/bin/sh", ["-c", command], TimeSpan.FromSeconds(60))
            : await ExternalProcess.RunAsync("/usr/sbin/runuser", ["-u", "postgres", "--", "/bin/sh", "-c", command], TimeSpan.FromSeconds(60));
        if (p.ExitCode != 0) throw new InvalidOperationException($"'{command}' failed: {p}");
    }

    public async ValueTask DisposeAsync()
    {
        try { await StopAsync(); } catch { /* already stopped */ }
        try { Directory.Delete(_dir, true); } catch { }
    }
}
