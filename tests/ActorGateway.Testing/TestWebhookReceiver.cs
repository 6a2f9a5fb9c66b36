using System.Text;
using System.Text.Json;

namespace ActorGateway.Testing;

/// <summary>One HTTP request as the webhook receiver got it, with the status it answered.</summary>
public sealed record WebhookRequest(string Method, string Path, IReadOnlyDictionary<string, string> Headers, byte[] Body, int Answered)
{
    public string Text => Encoding.UTF8.GetString(Body);
    public string Header(string name) => Headers.TryGetValue(name.ToLowerInvariant(), out var v) ? v : "";
}

/// <summary>
/// A tenant's webhook endpoint the tests do not own: Python's http.server on a loopback port,
/// recording every request (method, path, headers, body) to a file, one JSON line each. It
/// holds the first <c>hangFirst</c> requests for 3 seconds (then answers 504), answers 500 to
/// the next <c>failFirst</c>, then 200.
/// </summary>
public sealed class TestWebhookReceiver : IAsyncDisposable
{
    const string Script = """
import base64, json, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
log, host, port, fail_first, hang_first = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
lock = threading.Lock()
count = [0]
class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('Content-Length', '0')))
        with lock:
            count[0] += 1
            n = count[0]
        if n <= hang_first:
            time.sleep(3)
        with lock:
            status = 504 if n <= hang_first else 500 if n <= hang_first + fail_first else 200
            rec = {'method': self.command, 'path': self.path, 'headers': {k.lower(): v for k, v in self.headers.items()},
                   'body': base64.b64encode(body).decode(), 'status': status}
            with open(log, 'a') as f:
                f.write(json.dumps(rec) + '\n')
        self.send_response(status)
        self.send_header('Content-Length', '0')
        self.end_headers()
    def log_message(self, *args):
        pass
server = ThreadingHTTPServer((host, port), Handler)
print('ready', flush=True)
server.serve_forever()
""";

    readonly ExternalProcess _process;
    readonly TempDirectory _dir;
    public int Port { get; }
    public string Url => $"http://127.0.0.1:{Port}/events";
    string Log => _dir.File("requests.jsonl");

    TestWebhookReceiver(ExternalProcess p, TempDirectory dir, int port) { _process = p; _dir = dir; Port = port; }

    public static async Task<TestWebhookReceiver> StartAsync(int? port = null, int failFirst = 0, int hangFirst = 0)
    {
        var dir = new TempDirectory();
        await File.WriteAllTextAsync(dir.File("webhook.py"), Script);
        var p = port ?? FreePort.Next();
        var process = ExternalProcess.Start("/usr/bin/python3", [dir.File("webhook.py"), dir.File("requests.jsonl"), "127.0.0.1", p.ToString(), failFirst.ToString(), hangFirst.ToString()]);
        await FreePort.WaitUntilListeningAsync("127.0.0.1", p, TimeSpan.FromSeconds(15));
        return new TestWebhookReceiver(process, dir, p);
    }

    public IReadOnlyList<WebhookRequest> Requests()
    {
        if (!File.Exists(Log)) return [];
        var list = new List<WebhookRequest>();
        foreach (var line in File.ReadAllLines(Log).Where(l => l.EndsWith('}')))
        {
            using var doc = JsonDocument.Parse(line);
            var r = doc.RootElement;
            list.Add(new WebhookRequest(r.GetProperty("method").GetString()!, r.GetProperty("path").GetString()!,
                r.GetProperty("headers").EnumerateObject().ToDictionary(h => h.Name, h => h.Value.GetString()!),
                Convert.FromBase64String(r.GetProperty("body").GetString()!), r.GetProperty("status").GetInt32()));
        }
        return list;
    }

    public async ValueTask DisposeAsync()
    {
        await _process.DisposeAsync();
        _dir.Dispose();
    }
}
