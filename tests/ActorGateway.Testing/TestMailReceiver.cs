using System.Text;
using System.Text.Json;

namespace ActorGateway.Testing;

/// <summary>A message as the receiving server got it.</summary>
public sealed record ReceivedMail(string Peer, string MailFrom, IReadOnlyList<string> Recipients, byte[] Data, bool Tls,
    IReadOnlyList<string>? MailOptions = null)
{
    public string Text => Encoding.UTF8.GetString(Data);
}

/// <summary>
/// A receiving MTA the tests do not own: Python's aiosmtpd on a loopback port, recording
/// each message (with the client's source address) to a directory. Recipients steer it:
/// "reject*@" gets 550 at RCPT, "defer*@" gets 451 on its first attempt, "tempfail-data*@"
/// gets 451 after DATA once. With requireTls it offers REQUIRETLS (RFC 8689) in TLS sessions and
/// accepts it on MAIL FROM (recorded in <see cref="ReceivedMail.MailOptions"/>).
/// </summary>
public sealed class TestMailReceiver : IAsyncDisposable
{
    const string Script = """
import asyncio, base64, json, os, signal, ssl, sys, uuid
from aiosmtpd.controller import Controller
out_dir, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
cert, key = (sys.argv[4], sys.argv[5]) if len(sys.argv) > 5 else (None, None)
requiretls = len(sys.argv) > 6 and sys.argv[6] == 'requiretls'
from aiosmtpd.smtp import SMTP
seen = {}
class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split('@')[0].lower()
        if local.startswith('reject'):
            return '550 5.1.1 <%s>: Recipient address rejected: User unknown' % address
        if local.startswith('defer'):
            seen[address] = seen.get(address, 0) + 1
            if seen[address] == 1:
                return '451 4.3.0 <%s>: Temporary failure, try again' % address
        envelope.rcpt_tos.append(address)
        return '250 2.1.5 OK'
    async def handle_DATA(self, server, session, envelope):
        if any(r.lower().startswith('tempfail-data') for r in envelope.rcpt_tos):
            key_ = 'data:' + ','.join(envelope.rcpt_tos)
            seen[key_] = seen.get(key_, 0) + 1
            if seen[key_] == 1:
                return '452 4.3.1 Insufficient system storage'
        rec = {'peer': session.peer[0], 'mail_from': envelope.mail_from, 'rcpt_tos': envelope.rcpt_tos,
               'data': base64.b64encode(envelope.original_content).decode(), 'tls': session.ssl is not None,
               'mail_options': envelope.mail_options}
        name = os.path.join(out_dir, uuid.uuid4().hex)
        with open(name + '.tmp', 'w') as f: json.dump(rec, f)
        os.rename(name + '.tmp', name + '.json')
        return '250 2.0.0 Ok: stored'
class RequireTlsHandler(Handler):
    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if server._tls_protocol:
            responses.insert(len(responses) - 1, '250-REQUIRETLS')
        return responses
class RequireTlsSMTP(SMTP):
    def _getparams(self, params):
        result = super()._getparams(params)
        if result is not None and self._tls_protocol:
            result.pop('REQUIRETLS', None)
        return result
class RequireTlsController(Controller):
    def factory(self):
        return RequireTlsSMTP(self.handler, **self.SMTP_kwargs)
ctx = None
if cert:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH); ctx.load_cert_chain(cert, key)
c = (RequireTlsController if requiretls else Controller)(RequireTlsHandler() if requiretls else Handler(), hostname=host, port=port, tls_context=ctx, require_starttls=False, server_hostname='receiver.test')
c.start()
print('ready', flush=True)
signal.sigwait([signal.SIGTERM, signal.SIGINT])
c.stop()
""";

    readonly ExternalProcess _process;
    readonly TempDirectory _dir;
    public string Host { get; }
    public int Port { get; }
    string Inbox => _dir.File("inbox");

    TestMailReceiver(ExternalProcess p, TempDirectory dir, string host, int port) { _process = p; _dir = dir; Host = host; Port = port; }

    public static async Task<TestMailReceiver> StartAsync(string host = "127.0.0.1", int? port = null, TestCertificate? tls = null, bool requireTls = false)
    {
        var dir = new TempDirectory();
        Directory.CreateDirectory(dir.File("inbox"));
        await File.WriteAllTextAsync(dir.File("receiver.py"), Script);
        var p = port ?? FreePort.Next(host);
        var args = new List<string> { dir.File("receiver.py"), dir.File("inbox"), host, p.ToString() };
        if (tls is not null) { args.Add(tls.CertificatePath); args.Add(tls.KeyPath); }
        if (tls is not null && requireTls) args.Add("requiretls");
        var process = ExternalProcess.Start("/usr/bin/python3", args);
        await FreePort.WaitUntilListeningAsync(host, p, TimeSpan.FromSeconds(15));
        return new TestMailReceiver(process, dir, host, p);
    }

    public IReadOnlyList<ReceivedMail> Messages()
    {
        var list = new List<ReceivedMail>();
        foreach (var file in Directory.GetFiles(Inbox, "*.json").OrderBy(File.GetLastWriteTimeUtc))
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(file));
            var r = doc.RootElement;
            list.Add(new ReceivedMail(r.GetProperty("peer").GetString()!, r.GetProperty("mail_from").GetString()!,
                r.GetProperty("rcpt_tos").EnumerateArray().Select(e => e.GetString()!).ToArray(),
                Convert.FromBase64String(r.GetProperty("data").GetString()!), r.GetProperty("tls").GetBoolean(),
                r.TryGetProperty("mail_options", out var options) ? options.EnumerateArray().Select(e => e.GetString()!).ToArray() : []));
        }
        return list;
    }

    /// <summary>Waits until at least <paramref name="count"/> messages arrived (or fails with what did).</summary>
    public async Task<IReadOnlyList<ReceivedMail>> WaitForAsync(int count, TimeSpan timeout, Func<ReceivedMail, bool>? where = null)
    {
        var until = DateTime.UtcNow + timeout;
        while (true)
        {
            var messages = Messages().Where(where ?? (_ => true)).ToList();
            if (messages.Count >= count) return messages;
            if (DateTime.UtcNow > until)
                throw new TimeoutException($"{messages.Count} of {count} message(s) arrived at the receiver in {timeout}");
            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _process.DisposeAsync();
        _dir.Dispose();
    }
}
