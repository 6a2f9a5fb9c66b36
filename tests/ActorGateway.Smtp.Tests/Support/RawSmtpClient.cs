using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;

namespace ActorGateway.Smtp.Tests.Support;

/// <summary>One SMTP reply as a client sees it.</summary>
public sealed record Reply(int Code, IReadOnlyList<string> Lines)
{
    public string Text => string.Join("\n", Lines);
    public override string ToString() => $"{Code} {Text}";
}

/// <summary>
/// A byte-level SMTP client for bad-input tests: sends exactly what the test says, reads
/// replies with a time limit, can switch to TLS.
/// </summary>
public sealed class RawSmtpClient : IAsyncDisposable
{
    readonly TcpClient _tcp;
    Stream _stream;
    readonly byte[] _buffer = new byte[64 * 1024];
    readonly MemoryStream _pending = new();

    RawSmtpClient(TcpClient tcp) { _tcp = tcp; _stream = tcp.GetStream(); }

    public static async Task<RawSmtpClient> ConnectAsync(IPEndPoint endPoint, bool implicitTls = false, IPAddress? from = null)
    {
        var tcp = new TcpClient(AddressFamily.InterNetwork);
        if (from is not null) tcp.Client.Bind(new IPEndPoint(from, 0));
        await tcp.ConnectAsync(endPoint);
        tcp.NoDelay = true;
        var c = new RawSmtpClient(tcp);
        if (implicitTls) await c.StartTlsAsync();
        return c;
    }

    public async Task StartTlsAsync()
    {
        var ssl = new SslStream(_stream, false, (_, _, _, _) => true);
        await ssl.AuthenticateAsClientAsync("localhost").WaitAsync(TimeSpan.FromSeconds(10));
        _stream = ssl;
    }

    public bool IsTls => _stream is SslStream;

    public Task SendAsync(string text) => SendAsync(Encoding.UTF8.GetBytes(text));

    public async Task SendAsync(byte[] bytes)
    {
        await _stream.WriteAsync(bytes);
        await _stream.FlushAsync();
    }

    public Task SendLineAsync(string line) => SendAsync(line + "\r\n");

    /// <summary>Sends a command and reads its reply.</summary>
    public async Task<Reply> CommandAsync(string line)
    {
        await SendLineAsync(line);
        return await ReadReplyAsync();
    }

    public async Task<Reply> ReadReplyAsync(TimeSpan? timeout = null)
    {
        var lines = new List<string>();
        while (true)
        {
            var line = await ReadLineAsync(timeout ?? TimeSpan.FromSeconds(10))
                       ?? throw new IOException($"connection closed while reading a reply (got: {string.Join(" | ", lines)})");
            if (line.Length < 3 || !int.TryParse(line.AsSpan(0, 3), out var code)) throw new IOException($"not a reply line: {line}");
            lines.Add(line.Length > 4 ? line[4..] : "");
            if (line.Length == 3 || line[3] == ' ') return new Reply(code, lines);
        }
    }

    /// <summary>True when the server has closed the connection (reads return EOF) within the timeout.</summary>
    public async Task<bool> IsClosedByServerAsync(TimeSpan timeout)
    {
        try
        {
            while (true)
            {
                using var cts = new CancellationTokenSource(timeout);
                var n = await _stream.ReadAsync(_buffer, cts.Token);
                if (n == 0) return true;
            }
        }
        catch (OperationCanceledException) { return false; }
        catch (IOException) { return true; }
    }

    async Task<string?> ReadLineAsync(TimeSpan timeout)
    {
        while (true)
        {
            var data = _pending.GetBuffer().AsSpan(0, (int)_pending.Length);
            var lf = data.IndexOf((byte)'\n');
            if (lf >= 0)
            {
                var line = Encoding.UTF8.GetString(data[..lf]).TrimEnd('\r');
                var rest = data[(lf + 1)..].ToArray();
                _pending.SetLength(0); _pending.Write(rest);
                return line;
            }
            using var cts = new CancellationTokenSource(timeout);
            int n;
            try { n = await _stream.ReadAsync(_buffer, cts.Token); }
            catch (OperationCanceledException) { throw new TimeoutException("no reply from the server in time"); }
            if (n == 0) return null;
            _pending.Write(_buffer, 0, n);
        }
    }

    public async ValueTask DisposeAsync()
    {
        try { await _stream.DisposeAsync(); } catch { }
        _tcp.Dispose();
    }
}
