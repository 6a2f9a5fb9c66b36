using System.Security.Cryptography;

namespace ActorGateway.Testing;

/// <summary>
/// A real clamd on a free loopback port, with a signature directory the test writes: the
/// EICAR pattern (.ndb) and MD5 lines (.hdb) for files the test names. No signature
/// download is needed (or possible); clamd reports these as NAME.UNOFFICIAL.
/// </summary>
public sealed class Clamd : IAsyncDisposable
{
    public const string EicarNdb = "Eicar-Test-Signature:0:*:58354f2150254041505b345c505a58353428505e2937434329377d2445494341522d5354414e444152442d414e544956495255532d544553542d46494c452124482b482a";
    readonly ExternalProcess _process;
    readonly TempDirectory _dir;
    public int Port { get; }
    public string Endpoint => $"127.0.0.1:{Port}";
    public string SignatureDirectory => _dir.File("db");

    Clamd(ExternalProcess p, TempDirectory dir, int port) { _process = p; _dir = dir; Port = port; }

    /// <summary>An .hdb line (MD5:SIZE:NAME) for a file.</summary>
    public static string HdbLine(string file, string name)
    {
        var bytes = File.ReadAllBytes(file);
        return $"{Convert.ToHexStringLower(MD5.HashData(bytes))}:{bytes.Length}:{name}";
    }

    /// <summary>Starts clamd with the EICAR pattern, <paramref name="hdbLines"/> and any further .ndb lines.</summary>
    public static async Task<Clamd> StartAsync(IEnumerable<string> hdbLines, IEnumerable<string>? ndbLines = null)
    {
        var exe = ExternalProcess.Require("clamd", "clamav-daemon");
        var dir = new TempDirectory();
        Directory.CreateDirectory(dir.File("db"));
        await File.WriteAllLinesAsync(dir.File("db/test.ndb"), [EicarNdb, .. ndbLines ?? []]);
        var hashes = hdbLines.ToArray();
        if (hashes.Length > 0) await File.WriteAllLinesAsync(dir.File("db/test.hdb"), hashes); // clamd refuses an empty one
        var port = FreePort.Next();
        await File.WriteAllLinesAsync(dir.File("clamd.conf"), [
            "Foreground yes", $"TCPSocket {port}", "TCPAddr 127.0.0.1", $"DatabaseDirectory {dir.File("db")}",
            $"PidFile {dir.File("clamd.pid")}", $"TemporaryDirectory {dir.Path}", "LogTime yes", "LogVerbose no",
            "ScanMail yes", "StreamMaxLength 25M", "User root",
        ]);
        var p = ExternalProcess.Start(exe, ["--config-file", dir.File("clamd.conf")]);
        var waiting = FreePort.WaitUntilListeningAsync("127.0.0.1", port, TimeSpan.FromSeconds(30));
        while (!waiting.IsCompleted && !p.HasExited) await Task.WhenAny(waiting, Task.Delay(100));
        if (p.HasExited || waiting.IsFaulted) throw new InvalidOperationException($"clamd did not start:\n{p}");
        return new Clamd(p, dir, port);
    }

    public async ValueTask DisposeAsync()
    {
        await _process.DisposeAsync();
        _dir.Dispose();
    }
}
