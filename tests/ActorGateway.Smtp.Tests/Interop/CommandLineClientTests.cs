using System.Text;
using ActorGateway.Smtp.Tests.Support;
using ActorGateway.Testing;

namespace ActorGateway.Smtp.Tests.Interop;

/// <summary>swaks, Python's smtplib and Postfix's smtp-source against our server.</summary>
public sealed class CommandLineClientTests
{
    // swaks sends the data file and then "\r\n.\r\n", so what arrives is the file plus one empty line
    // (Postfix's smtp-sink records the same).
    const string SwaksArrives = Body + "\r\n";

    const string Body = "From: <alice@sender.example>\r\nTo: <bob@rcpt.example>\r\nSubject: interop\r\n\r\n.dot first\r\nline two\r\n..two dots\r\n";

    static string Swaks => ExternalProcess.Require("swaks", "swaks");

    static async Task<ExternalProcess> RunSwaksAsync(params string[] args)
    {
        using var dir = new TempDirectory();
        var data = dir.File("msg.eml");
        await File.WriteAllTextAsync(data, Body);
        var all = new List<string> { "--from", "alice@sender.example", "--to", "bob@rcpt.example", "--data", "@" + data, "--helo", "swaks.example", "--timeout", "15" };
        all.AddRange(args);
        var p = await ExternalProcess.RunAsync(Swaks, all, TimeSpan.FromSeconds(60));
        Assert.True(p.ExitCode == 0, p.ToString());
        return p;
    }

    [Fact]
    public async Task Swaks_with_pipelining_delivers_byte_exact()
    {
        await using var server = await TestSmtpServer.StartAsync();
        var p = await RunSwaksAsync("--server", $"127.0.0.1:{server.Port}", "--pipeline");
        Assert.Contains("MAIL FROM:<alice@sender.example>", p.StandardOutput);
        Assert.Equal(SwaksArrives, Encoding.UTF8.GetString(Assert.Single(server.Hooks.Messages).Body));
    }

    [Fact]
    public async Task Swaks_with_starttls_and_auth_delivers_byte_exact()
    {
        await using var server = await TestSmtpServer.StartAsync(tls: true, authRequired: true);
        await RunSwaksAsync("--server", $"127.0.0.1:{server.Port}", "--tls", "--auth", "PLAIN", "--auth-user", "alice", "--auth-password", "secret", "--pipeline");
        var m = Assert.Single(server.Hooks.Messages);
        Assert.Equal(SwaksArrives, Encoding.UTF8.GetString(m.Body));
        Assert.Equal("alice", m.User);
        Assert.NotNull(m.Tls);
    }

    [Fact]
    public async Task Swaks_with_implicit_tls_and_auth_login_delivers_byte_exact()
    {
        await using var server = await TestSmtpServer.StartAsync(tls: true, authRequired: true);
        await RunSwaksAsync("--server", $"127.0.0.1:{server.Host.EndPoints[1].Port}", "--tlsc", "--auth", "LOGIN", "--auth-user", "alice", "--auth-password", "secret");
        var m = Assert.Single(server.Hooks.Messages);
        Assert.Equal(SwaksArrives, Encoding.UTF8.GetString(m.Body));
        Assert.Equal("alice", m.User);
    }

    [Fact]
    public async Task Swaks_auth_without_tls_is_refused()
    {
        await using var server = await TestSmtpServer.StartAsync(tls: true);
        using var dir = new TempDirectory();
        var p = await ExternalProcess.RunAsync(Swaks, ["--server", $"127.0.0.1:{server.Port}", "--from", "a@s.example", "--to", "b@r.example",
            "--auth", "PLAIN", "--auth-user", "alice", "--auth-password", "secret", "--timeout", "15"], TimeSpan.FromSeconds(60));
        Assert.NotEqual(0, p.ExitCode);
        Assert.Empty(server.Hooks.Messages);
    }

    const string SmtplibScript = """
import smtplib, ssl, sys
host, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
body = open(sys.argv[4], 'rb').read()
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
if mode == 'implicit':
    s = smtplib.SMTP_SSL(host, port, context=ctx, timeout=15)
else:
    s = smtplib.SMTP(host, port, timeout=15)
s.ehlo('smtplib.example')
if mode == 'starttls':
    s.starttls(context=ctx); s.ehlo('smtplib.example')
if mode != 'plain':
    s.login('alice', 'secret')
refused = s.sendmail('alice@sender.example', ['bob@rcpt.example', 'nobody@rcpt.example'], body,
                     mail_options=['BODY=8BITMIME'], rcpt_options=['NOTIFY=FAILURE,DELAY'])
print('refused:', sorted(refused))
s.quit()
""";

    [Theory]
    [InlineData("plain")]
    [InlineData("starttls")]
    [InlineData("implicit")]
    public async Task Python_smtplib_delivers_byte_exact(string mode)
    {
        await using var server = await TestSmtpServer.StartAsync(tls: true);
        using var dir = new TempDirectory();
        await File.WriteAllTextAsync(dir.File("send.py"), SmtplibScript);
        await File.WriteAllTextAsync(dir.File("msg.eml"), Body + "Grüße\r\n");
        var port = mode == "implicit" ? server.Host.EndPoints[1].Port : server.Port;
        var p = await ExternalProcess.RunAsync("/usr/bin/python3", [dir.File("send.py"), "127.0.0.1", port.ToString(), mode, dir.File("msg.eml")], TimeSpan.FromSeconds(60));
        Assert.True(p.ExitCode == 0, p.ToString());
        Assert.Contains("refused: ['nobody@rcpt.example']", p.StandardOutput);
        var m = Assert.Single(server.Hooks.Messages);
        Assert.Equal(Body + "Grüße\r\n", Encoding.UTF8.GetString(m.Body));
        Assert.Equal(ActorGateway.Smtp.Protocol.DsnNotify.Failure | ActorGateway.Smtp.Protocol.DsnNotify.Delay, m.Transaction.Recipients[0].Notify);
        Assert.Equal(mode == "plain" ? null : "alice", m.User);
    }

    [Fact]
    public async Task Smtp_source_with_many_parallel_sessions_delivers_every_message_intact()
    {
        await using var server = await TestSmtpServer.StartAsync();
        var source = ExternalProcess.Require("smtp-source", "postfix");
        const int messages = 500, sessions = 25, size = 3000;
        var p = await ExternalProcess.RunAsync(source,
            ["-s", sessions.ToString(), "-m", messages.ToString(), "-l", size.ToString(), "-c", "-f", "alice@sender.example",
             "-t", "bob@rcpt.example", "-r", "2", $"127.0.0.1:{server.Port}"], TimeSpan.FromSeconds(120));
        Assert.True(p.ExitCode == 0, p.ToString());
        Assert.Equal(messages, server.Hooks.Messages.Count);
        var ids = new HashSet<string>();
        foreach (var m in server.Hooks.Messages)
        {
            Assert.Equal(2, m.Transaction.Recipients.Count);
            var text = Encoding.ASCII.GetString(m.Body);
            Assert.StartsWith("From: <alice@sender.example>\r\nTo: <bob@rcpt.example>\r\nDate: ", text);
            ids.Add(System.Text.RegularExpressions.Regex.Match(text, "Message-Id: (<[^>]+>)\r\n").Groups[1].Value);
            // smtp-source sizes the whole message with -l: lines of 80, a digit then 'X's, then an empty line.
            var body = text[(text.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];
            Assert.Matches(@"^([0-9X]X{0,79}\r\n)+(\r\n)?$", body);
            Assert.InRange(text.Length, size, size + 250); // -l counts LF line ends; CRs and headers add a little
        }
        Assert.Equal(messages, ids.Count);
    }
}
