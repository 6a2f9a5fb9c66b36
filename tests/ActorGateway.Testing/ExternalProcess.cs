using System.Diagnostics;
using System.Text;

namespace ActorGateway.Testing;

/// <summary>
/// A real program started by a test (swaks, smtp-source, dnsmasq, ...), always stopped
/// on dispose, with its output captured for assertions and failure messages.
/// </summary>
public sealed class ExternalProcess : IAsyncDisposable
{
    readonly Process _process;
    readonly StringBuilder _stdout = new(), _stderr = new();

    ExternalProcess(Process process) { _process = process; }

    public string StandardOutput { get { lock (_stdout) return _stdout.ToString(); } }
    public string StandardError { get { lock (_stderr) return _stderr.ToString(); } }
    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;
    public int Id => _process.Id;

    /// <summary>Finds a program or fails the test with the package that provides it.</summary>
    public static string Require(string program, string package)
    {
        foreach (var dir in new[] { "/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/bin" })
        {
            var path = Path.Combine(dir, program);
            if (File.Exists(path)) return path;
        }
        throw new InvalidOperationException($"{program} is not installed; run the README's test command (it installs the Debian package {package}).");
    }

    public static ExternalProcess Start(string file, IEnumerable<string> args, string? stdin = null, IDictionary<string, string>? env = null, string? workingDirectory = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true,
            UseShellExecute = false, WorkingDirectory = workingDirectory ?? Path.GetTempPath(),
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;
        var p = new Process { StartInfo = psi, EnableRaisingEvents = true };
        var ep = new ExternalProcess(p);
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (ep._stdout) ep._stdout.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (ep._stderr) ep._stderr.AppendLine(e.Data); };
        p.Start();
        p.BeginOutputReadLine(); p.BeginErrorReadLine();
        if (stdin is not null) p.StandardInput.Write(stdin);
        p.StandardInput.Close();
        return ep;
    }

    /// <summary>Runs a program to completion within a time limit and returns it.</summary>
    public static async Task<ExternalProcess> RunAsync(string file, IEnumerable<string> args, TimeSpan timeout, string? stdin = null, IDictionary<string, string>? env = null)
    {
        var p = Start(file, args, stdin, env);
        await p.WaitForExitAsync(timeout);
        return p;
    }

    public async Task WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try { await _process.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException)
        {
            Kill();
            throw new TimeoutException($"{_process.StartInfo.FileName} did not finish within {timeout}.\nstdout:\n{StandardOutput}\nstderr:\n{StandardError}");
        }
        _process.WaitForExit(); // drain the output readers
    }

    public void Kill()
    {
        try { if (!_process.HasExited) _process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
    }

    public override string ToString() => $"exit={(_process.HasExited ? _process.ExitCode : -1)}\nstdout:\n{StandardOutput}\nstderr:\n{StandardError}";

    public async ValueTask DisposeAsync()
    {
        Kill();
        try { await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10)); } catch { }
        _process.Dispose();
    }
}
