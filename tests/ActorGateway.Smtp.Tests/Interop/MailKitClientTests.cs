using System.Text;
using ActorGateway.Smtp.Tests.Support;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace ActorGateway.Smtp.Tests.Interop;

/// <summary>MailKit's SmtpClient against our server: plain, STARTTLS + AUTH, implicit TLS + AUTH.</summary>
public sealed class MailKitClientTests
{
    static MimeMessage NewMessage(string subject)
    {
        var m = new MimeMessage();
        m.From.Add(MailboxAddress.Parse("alice@sender.example"));
        m.To.Add(MailboxAddress.Parse("bob@rcpt.example"));
        m.Cc.Add(MailboxAddress.Parse("carol@rcpt.example"));
        m.Subject = subject;
        var body = new BodyBuilder { TextBody = "Hello.\n.leading dot line\nGrüße, Ünïcödé\n" };
        body.Attachments.Add("data.bin", Enumerable.Range(0, 5000).Select(i => (byte)i).ToArray());
        m.Body = body.ToMessageBody();
        return m;
    }

    /// <summary>The bytes MailKit puts on the wire for a message (CRLF line ends, no Bcc).</summary>
    static byte[] WireBytes(MimeMessage m)
    {
        var options = FormatOptions.Default.Clone();
        options.NewLineFormat = NewLineFormat.Dos;
        options.EnsureNewLine = true;
        using var ms = new MemoryStream();
        m.WriteTo(options, ms);
        return ms.ToArray();
    }

    static async Task SendAsync(TestSmtpServer server, MimeMessage message, int port, SecureSocketOptions security, bool auth)
    {
        using var client = new SmtpClient { ServerCertificateValidationCallback = (_, _, _, _) => true, Timeout = 15000 };
        await client.ConnectAsync("127.0.0.1", port, security);
        if (auth) await client.AuthenticateAsync("alice", "secret");
        await client.SendAsync(message);
        await client.DisconnectAsync(true);
    }

    [Fact]
    public async Task Plain_connection_delivers_byte_exact()
    {
        await using var server = await TestSmtpServer.StartAsync();
        var message = NewMessage("plain");
        await SendAsync(server, message, server.Port, SecureSocketOptions.None, auth: false);
        var stored = Assert.Single(server.Hooks.Messages);
        Assert.Equal(Encoding.UTF8.GetString(WireBytes(message)), Encoding.UTF8.GetString(stored.Body));
        Assert.Equal(new[] { "bob@rcpt.example", "carol@rcpt.example" }, stored.Transaction.Recipients.Select(r => r.Address));
    }

    [Fact]
    public async Task Starttls_with_auth_delivers_byte_exact()
    {
        await using var server = await TestSmtpServer.StartAsync(tls: true, authRequired: true);
        var message = NewMessage("starttls");
        await SendAsync(server, message, server.Port, SecureSocketOptions.StartTls, auth: true);
        var stored = Assert.Single(server.Hooks.Messages);
        Assert.Equal(WireBytes(message), stored.Body);
        Assert.Equal("alice", stored.User);
        Assert.NotNull(stored.Tls);
    }

    [Fact]
    public async Task Implicit_tls_with_auth_delivers_byte_exact()
    {
        await using var server = await TestSmtpServer.StartAsync(tls: true, authRequired: true);
        var message = NewMessage("implicit");
        await SendAsync(server, message, server.Host.EndPoints[1].Port, SecureSocketOptions.SslOnConnect, auth: true);
        var stored = Assert.Single(server.Hooks.Messages);
        Assert.Equal(WireBytes(message), stored.Body);
        Assert.Equal("alice", stored.User);
    }

    [Fact]
    public async Task Wrong_password_is_an_authentication_error()
    {
        await using var server = await TestSmtpServer.StartAsync(tls: true);
        using var client = new SmtpClient { ServerCertificateValidationCallback = (_, _, _, _) => true };
        await client.ConnectAsync("127.0.0.1", server.Port, SecureSocketOptions.StartTls);
        await Assert.ThrowsAsync<AuthenticationException>(() => client.AuthenticateAsync("alice", "wrong"));
        await client.DisconnectAsync(true);
    }

    [Fact]
    public async Task Refused_recipient_surfaces_as_command_exception()
    {
        await using var server = await TestSmtpServer.StartAsync();
        var message = NewMessage("refused");
        message.To.Clear(); message.Cc.Clear();
        message.To.Add(MailboxAddress.Parse("nobody@rcpt.example"));
        using var client = new SmtpClient();
        await client.ConnectAsync("127.0.0.1", server.Port, SecureSocketOptions.None);
        var ex = await Assert.ThrowsAsync<SmtpCommandException>(() => client.SendAsync(message));
        Assert.Equal(SmtpStatusCode.MailboxUnavailable, ex.StatusCode);
        Assert.Empty(server.Hooks.Messages);
    }
}
