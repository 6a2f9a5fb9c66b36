namespace ActorGateway.Testing;

/// <summary>
/// A real DNS server (dnsmasq) on a free loopback port, answering only what the test
/// publishes; every other name gets NXDOMAIN at once.
/// </summary>
public sealed class Dnsmasq : IAsyncDisposable
{
    readonly ExternalProcess _process;
    readonly TempDirectory _dir;
    public int Port { get; }
    public string Endpoint => $"127.0.0.1:{Port}";

    Dnsmasq(ExternalProcess process, TempDirectory dir, int port) { _process = process; _dir = dir; Port = port; }

    /// <summary>Lines of dnsmasq configuration, e.g. "mx-host=example.com,mx.example.com,10", "host-record=mx.example.com,127.0.0.1".</summary>
    /// <param name="port">A port of an earlier instance, to change the published records under the same address.</param>
    public static async Task<Dnsmasq> StartAsync(IEnumerable<string> records, int? port = null)
    {
        var exe = ExternalProcess.Require("dnsmasq", "dnsmasq-base");
        var dir = new TempDirectory();
        var port_ = port ?? FreePort.Next();
        var conf = dir.File("dnsmasq.conf");
        await File.WriteAllLinesAsync(conf, new[]
        {
            $"port={port_}", "listen-address=127.0.0.1", "bind-interfaces", "no-resolv", "no-hosts", "local-ttl=1",
        }.Concat(records).Append("address=/#/"));
        var p = ExternalProcess.Start(exe, ["--keep-in-foreground", "--log-facility=-", $"--conf-file={conf}", $"--pid-file={dir.File("pid")}", "--user=root"]);
        await FreePort.WaitUntilListeningAsync("127.0.0.1", port_, TimeSpan.FromSeconds(10));
        return new Dnsmasq(p, dir, port_);
    }

    public async ValueTask DisposeAsync()
    {
        await _process.DisposeAsync();
        _dir.Dispose();
    }
}
