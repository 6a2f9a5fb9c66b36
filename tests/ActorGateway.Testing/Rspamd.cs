namespace ActorGateway.Testing;

/// <summary>
/// A real rspamd (normal worker only) on a free loopback port, with test patterns enabled
/// (GTUBE answers "reject") and its DNS pointed at the test's dnsmasq. The data directory is
/// kept between runs so the compiled pattern cache makes later starts fast.
/// </summary>
public sealed class Rspamd : IAsyncDisposable
{
    static readonly string DbDir = Path.Combine(Path.GetTempPath(), "actorgateway-rspamd-cache");
    readonly ExternalProcess _process;
    readonly TempDirectory _dir;
    public int Port { get; }
    public string Url => $"http://127.0.0.1:{Port}";

    Rspamd(ExternalProcess p, TempDirectory dir, int port) { _process = p; _dir = dir; Port = port; }

    public static async Task<Rspamd> StartAsync(string dnsEndpoint)
    {
        var exe = ExternalProcess.Require("rspamd", "rspamd");
        var dir = new TempDirectory();
        var local = dir.File("local/override.d");
        Directory.CreateDirectory(local);
        Directory.CreateDirectory(DbDir);
        Directory.CreateDirectory(dir.File("run"));
        var port = FreePort.Next();
        await File.WriteAllTextAsync(Path.Combine(local, "worker-normal.inc"), $"bind_socket = \"127.0.0.1:{port}\";\ncount = 1;\n");
        await File.WriteAllTextAsync(Path.Combine(local, "worker-controller.inc"), $"bind_socket = \"127.0.0.1:{FreePort.Next()}\";\n");
        await File.WriteAllTextAsync(Path.Combine(local, "worker-proxy.inc"), "enabled = false;\n");
        await File.WriteAllTextAsync(Path.Combine(local, "options.inc"),
            $"enable_test_patterns = true;\ndns {{ nameserver = [\"{dnsEndpoint}\"]; timeout = 1s; retransmits = 1; }}\n");
        await File.WriteAllTextAsync(Path.Combine(local, "logging.inc"), "type = \"console\";\nlevel = \"error\";\n");
        var p = ExternalProcess.Start(exe, ["-f", "-i", "-u", "root", "-g", "root", "-c", "/etc/rspamd/rspamd.conf",
            "--var", $"LOCAL_CONFDIR={dir.File("local")}", "--var", $"DBDIR={DbDir}", "--var", $"RUNDIR={dir.File("run")}", "--var", $"LOGDIR={dir.Path}"]);
        var waiting = FreePort.WaitUntilListeningAsync("127.0.0.1", port, TimeSpan.FromSeconds(90));
        while (!waiting.IsCompleted && !p.HasExited) await Task.WhenAny(waiting, Task.Delay(200));
        if (p.HasExited || waiting.IsFaulted) throw new InvalidOperationException($"rspamd did not start:\n{p}");
        return new Rspamd(p, dir, port);
    }

    public async ValueTask DisposeAsync()
    {
        await _process.DisposeAsync();
        _dir.Dispose();
    }
}
