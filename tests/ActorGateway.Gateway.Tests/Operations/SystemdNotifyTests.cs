using ActorGateway.Testing;

namespace ActorGateway.Gateway.Tests.Operations;

/// <summary>
/// The systemd units say Type=notify: systemd waits for READY=1 on its notify socket and kills a
/// service that never sends it. The node is started here as systemd starts it: by a parent
/// process named "systemd" (which is how .NET recognizes a systemd service) with NOTIFY_SOCKET
/// set, and that parent reads the socket.
/// </summary>
public sealed class SystemdNotifyTests
{
    const string Supervisor = """
import os, signal, socket, subprocess, sys, time
sock_path, config, dll = sys.argv[1], sys.argv[2], sys.argv[3]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sock_path); s.settimeout(1)
env = dict(os.environ, NOTIFY_SOCKET=sock_path)
node = subprocess.Popen(['dotnet', dll, '--config', config], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
def read_until(word, seconds):
    until = time.time() + seconds
    while time.time() < until:
        try: data = s.recv(4096).decode()
        except socket.timeout: continue
        print('notify:', data.replace('\n', ' '), flush=True)
        if word in data: return True
    return False
try:
    ready = read_until('READY=1', 90)
    print('ready' if ready else 'no READY=1', flush=True)
    node.send_signal(signal.SIGTERM)
    print('stopping' if read_until('STOPPING=1', 30) else 'no STOPPING=1', flush=True)
    node.wait(60); print('exit', node.returncode, flush=True)
finally:
    if node.poll() is None: node.kill()
""";

    [Fact]
    public async Task The_node_tells_systemd_that_it_is_ready_and_that_it_stops()
    {
        using var dir = new TempDirectory();
        // An interpreter whose process name is "systemd": the node's parent.
        File.Copy("/usr/bin/python3", dir.File("systemd"));
        File.SetUnixFileMode(dir.File("systemd"), UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.UserWrite);
        await File.WriteAllTextAsync(dir.File("supervisor.py"), Supervisor);
        await File.WriteAllTextAsync(dir.File("node.conf"), $$"""
            gateway {
              data-dir = "{{dir.File("data")}}"
              operations.port = 0
              smtp.endpoints = [ { name = smtp, address = "127.0.0.1", port = {{FreePort.Next()}} } ]
            }
            """);
        var run = await ExternalProcess.RunAsync(dir.File("systemd"),
            [dir.File("supervisor.py"), dir.File("notify.sock"), dir.File("node.conf"), GatewayProcess.NodeAssembly], TimeSpan.FromSeconds(180));
        var lines = run.StandardOutput.Split('\n');
        Assert.True(lines.Contains("ready") && lines.Contains("stopping") && lines.Contains("exit 0"), run.ToString());
    }
}
