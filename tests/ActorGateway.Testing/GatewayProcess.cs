using System.Diagnostics;

namespace ActorGateway.Testing;

/// <summary>
/// A real gateway node process (the built ActorGateway.Node) with the test's HOCON file,
/// started and waited for until it is ready; can be killed with SIGKILL and restarted.
/// </summary>
public sealed class GatewayProcess : IAsyncDisposable
{
    readonly string[] _configFiles;
    ExternalProcess? _process;

    public GatewayProcess(params string[] configFiles) { _configFiles = configFiles; }

    public string Output => _process?.StandardOutput + _process?.StandardError;

    public static string NodeAssembly
    {
        get
        {
            // tests/<project>/bin/<cfg>/net10.0 -> src/ActorGateway.Node/bin/<cfg>/net10.0
            var here = AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar);
            var tfm = Path.GetFileName(here);
            var cfg = Path.GetFileName(Path.GetDirectoryName(here)!);
            var root = Path.GetFullPath(Path.Combine(here, "..", "..", "..", "..", ".."));
            var dll = Path.Combine(root, "src", "ActorGateway.Node", "bin", cfg, tfm, "ActorGateway.Node.dll");
            if (!File.Exists(dll)) throw new FileNotFoundException($"build the solution first: {dll} is missing");
            return dll;
        }
    }

    /// <summary>The node's shipped configuration file (next to the built binary), e.g. a site's file.</summary>
    public static string ShippedConfig(string name) => Path.Combine(Path.GetDirectoryName(NodeAssembly)!, "hocon", name);

    /// <summary>
    /// Starts the node and returns once it is a cluster member and accepts connections on its SMTP port
    /// and, when given, its operations port (Kestrel binds its endpoints one after the other).
    /// </summary>
    public async Task StartAsync(int smtpPort, TimeSpan? timeout = null, string smtpAddress = "127.0.0.1", int? operationsPort = null,
        string? operationsAddress = null)
    {
        // SIGHUP back to its default: a test run started under nohup (or anything else that ignores
        // SIGHUP) passes the ignored signal on to every node, and .NET leaves an ignored SIGHUP
        // ignored, so the reload tests' SIGHUP would never arrive. env execs dotnet: same process.
        var args = new List<string> { "--default-signal=HUP", "dotnet", NodeAssembly };
        foreach (var f in _configFiles) { args.Add("--config"); args.Add(f); }
        _process = ExternalProcess.Start("/usr/bin/env", args);
        var until = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (!_process.StandardOutput.Contains(" ready: cluster member up"))
        {
            if (_process.HasExited) throw new InvalidOperationException($"the gateway exited at start:\n{Output}");
            if (DateTime.UtcNow > until) throw new TimeoutException($"the gateway did not become ready:\n{Output}");
            await Task.Delay(100);
        }
        await WaitUntilListeningAsync(smtpAddress, smtpPort);
        if (operationsPort is { } ops) await WaitUntilListeningAsync(operationsAddress ?? smtpAddress, ops);
    }

    async Task WaitUntilListeningAsync(string address, int port)
    {
        try
        {
            await FreePort.WaitUntilListeningAsync(address, port, TimeSpan.FromSeconds(20));
        }
        catch (System.Net.Sockets.SocketException e)
        {
            // Say why: the log shows a failed bind or a crash after the cluster came up.
            throw new TimeoutException($"the gateway is not listening on {address}:{port} ({e.Message}), exited: {_process!.HasExited}\n{Output}", e);
        }
    }

    /// <summary>Waits until the node's log matches every pattern (regular expressions).</summary>
    public Task WaitForLogAsync(params string[] patterns) => WaitForLogAsync(TimeSpan.FromSeconds(30), patterns);

    public async Task WaitForLogAsync(TimeSpan timeout, params string[] patterns)
    {
        var until = DateTime.UtcNow + timeout;
        while (true)
        {
            var missing = patterns.Where(p => !System.Text.RegularExpressions.Regex.IsMatch(Output, p)).ToArray();
            if (missing.Length == 0) return;
            if (DateTime.UtcNow > until) throw new TimeoutException("the gateway did not log: " + string.Join(", ", missing));
            await Task.Delay(100);
        }
    }

    /// <summary>SIGKILL: no shutdown code runs, as when a machine loses power.</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>SIGHUP: the node reads its configuration files again.</summary>
    public async Task ReloadAsync()
    {
        var kill = await ExternalProcess.RunAsync("/bin/kill", ["-HUP", _process!.Id.ToString()], TimeSpan.FromSeconds(10));
        if (kill.ExitCode != 0) throw new InvalidOperationException(kill.ToString());
    }

    public async Task KillAsync()
    {
        if (_process is null || _process.HasExited) return;
        Process.GetProcessById(_process.Id).Kill();
        await _process.WaitForExitAsync(TimeSpan.FromSeconds(10));
    }

    public async ValueTask DisposeAsync()
    {
        // For debugging a run: keep every node's log in this directory.
        if (Environment.GetEnvironmentVariable("ACTORGATEWAY_TEST_LOGS") is { Length: > 0 } dir && _process is not null)
        {
            Directory.CreateDirectory(dir);
            await File.WriteAllTextAsync(Path.Combine(dir, $"node-{_process.Id}.log"), Output);
        }
        if (_process is not null) await _process.DisposeAsync();
    }
}
