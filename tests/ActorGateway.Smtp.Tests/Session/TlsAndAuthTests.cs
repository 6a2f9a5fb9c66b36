using System.Text;
using ActorGateway.Smtp.Tests.Support;

namespace ActorGateway.Smtp.Tests.Session;

/// <summary>STARTTLS (RFC 3207), implicit TLS (RFC 8314) and AUTH PLAIN/LOGIN (RFC 4954).</summary>
public sealed class TlsAndAuthTests
{
    static string B64(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s));

    static async Task<RawSmtpClient> ConnectTlsAsync(TestSmtpServer server)
    {
        var client = await RawSmtpClient.ConnectAsync(server.EndPoint);
        Assert.Equal(220, (await client.ReadReplyAsync()).Code);
        var ehlo = await client.CommandAsync("EHLO client.example");
        Assert.Contains("STARTTLS", ehlo.Lines);
        Assert.DoesNotContain(ehlo.Lines, l => l.StartsWith("AUTH"));
        Assert.Equal("220 2.0.0 Ready to start TLS", (await client.CommandAsync("STARTTLS")).ToString());
        await client.StartTlsAsync();
        var again = await client.CommandAsync("EHLO client.example");
        Assert.DoesNotContain("STARTTLS", again.Lines);
        Assert.Contains("AUTH PLAIN LOGIN", again.Lines);
        return client;
    }

    [Fact]
    public async Task Auth_before_tls_is_refused_with_538()
    {
        await using var server = await TestSmtpServer.StartAsync(tls: true);
        await using var client = await RawSmtpClient.ConnectAsync(server.EndPoint);
        await client.ReadReplyAsync();
        await client.CommandAsync("EHLO client.example");
        Assert.Equal("538 5.7.11 Encryption required for requested authentication mechanism",
            (await client.CommandAsync("AUTH PLAIN " + B64("\0alice\0secret"))).ToString());
    }

    [Fact]
    public async Task Auth_plain_and_login_succeed_after_starttls()
    {
        await using var server = await TestSmtpServer.StartAsync(tls: true);
        await using (var client = await ConnectTlsAsync(server))
        {
            Assert.Equal("235 2.7.0 Authentication successful", (await client.CommandAsync("AUTH PLAIN " + B64("\0alice\0secret"))).ToString());
            Assert.Equal("503 5.5.1 Already authenticated", (await client.CommandAsync("AUTH PLAIN " + B64("\0alice\0secret"))).ToString());
            await client.CommandAsync("MAIL FROM:<a@s.example>");
            await client.CommandAsync("RCPT TO:<b@r.example>");
            await client.CommandAsync("DATA");
            Assert.Equal(250, (await client.CommandAsync("x\r\n.")).Code);
            var m = Assert.Single(server.Hooks.Messages);
            Assert.Equal("alice", m.User);
            Assert.NotNull(m.Tls);
        }
        await using (var client = await ConnectTlsAsync(server))
        {
            Assert.Equal("334 VXNlcm5hbWU6", (await client.CommandAsync("AUTH LOGIN")).ToString());
            Assert.Equal("334 UGFzc3dvcmQ6", (await client.CommandAsync(B64("alice"))).ToString());
            Assert.Equal(235, (await client.CommandAsync(B64("secret"))).Code);
        }
        await using (var client = await ConnectTlsAsync(server))
        {
            Assert.Equal("334 UGFzc3dvcmQ6", (await client.CommandAsync("AUTH LOGIN " + B64("alice"))).ToString());
            Assert.Equal(235, (await client.CommandAsync(B64("secret"))).Code);
        }
        await using (var client = await ConnectTlsAsync(server))
        {
            Assert.Equal("334 ", (await client.CommandAsync("AUTH PLAIN")).ToString().TrimEnd() + " ");
            Assert.Equal(235, (await client.CommandAsync(B64("\0alice\0secret"))).Code);
        }
    }

    [Theory]
    [InlineData("AUTH PLAIN !!!notbase64", "501 5.5.2 Cannot decode response")]
    [InlineData("AUTH PLAIN AGFsaWNl", "501 5.5.2 Cannot decode response")]           // "\0alice": two fields
    [InlineData("AUTH PLAIN AGFsaWNlAHdyb25n", "535 5.7.8 Authentication credentials invalid")] // wrong password
    [InlineData("AUTH PLAIN Ym9iAGFsaWNlAHNlY3JldA==", "535 5.7.8 Authentication credentials invalid")] // authzid bob != alice
    [InlineData("AUTH CRAM-MD5", "504 5.5.4 Unrecognized authentication type")]
    [InlineData("AUTH", "501 5.5.4 Syntax: AUTH mechanism [initial-response]")]
    public async Task Malformed_or_wrong_auth_is_refused(string command, string expected)
    {
        await using var server = await TestSmtpServer.StartAsync(tls: true);
        await using var client = await ConnectTlsAsync(server);
        Assert.Equal(expected, (await client.CommandAsync(command)).ToString());
        Assert.Equal(235, (await client.CommandAsync("AUTH PLAIN " + B64("\0alice\0secret"))).Code);
    }

    [Fact]
    public async Task Auth_can_be_cancelled_and_needs_no_transaction()
    {
        await using var server = await TestSmtpServer.StartAsync(tls: true);
        await using var client = await ConnectTlsAsync(server);
        await client.CommandAsync("AUTH LOGIN");
        Assert.Equal("501 5.0.0 Authentication cancelled", (await client.CommandAsync("*")).ToString());
        await client.CommandAsync("MAIL FROM:<a@s.example>");
        Assert.Equal("503 5.5.1 Bad sequence of commands", (await client.CommandAsync("AUTH PLAIN " + B64("\0alice\0secret"))).ToString());
    }

    [Fact]
    public async Task Auth_required_endpoint_refuses_mail_without_login()
    {
        await using var server = await TestSmtpServer.StartAsync(tls: true, authRequired: true);
        await using var client = await ConnectTlsAsync(server);
        Assert.Equal("530 5.7.0 Authentication required", (await client.CommandAsync("MAIL FROM:<a@s.example>")).ToString());
        await client.CommandAsync("AUTH PLAIN " + B64("\0alice\0secret"));
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<a@s.example>")).Code);
    }

    [Fact]
    public async Task Endpoint_may_allow_auth_without_tls()
    {
        await using var server = await TestSmtpServer.StartAsync(allowAuthWithoutTls: true);
        await using var client = await RawSmtpClient.ConnectAsync(server.EndPoint);
        await client.ReadReplyAsync();
        Assert.Contains("AUTH PLAIN LOGIN", (await client.CommandAsync("EHLO c.example")).Lines);
        Assert.Equal(235, (await client.CommandAsync("AUTH PLAIN " + B64("\0alice\0secret"))).Code);
    }

    [Fact]
    public async Task Starttls_forgets_a_login_made_before_it_and_what_the_hooks_derived_from_it()
    {
        await using var server = await TestSmtpServer.StartAsync(tls: true, allowAuthWithoutTls: true);
        await using var client = await RawSmtpClient.ConnectAsync(server.EndPoint);
        await client.ReadReplyAsync();
        await client.CommandAsync("EHLO client.example");
        Assert.Equal(235, (await client.CommandAsync("AUTH PLAIN " + B64("\0alice\0secret"))).Code);
        Assert.Equal(220, (await client.CommandAsync("STARTTLS")).Code);
        await client.StartTlsAsync();
        await client.CommandAsync("EHLO client.example");
        await client.CommandAsync("MAIL FROM:<a@s.example>");
        await client.CommandAsync("RCPT TO:<b@r.example>");
        await client.CommandAsync("DATA");
        Assert.Equal(250, (await client.CommandAsync("x\r\n.")).Code);
        var m = Assert.Single(server.Hooks.Messages);
        Assert.Null(m.User);
        Assert.Null(m.Properties);
    }

    [Fact]
    public async Task Commands_pipelined_after_starttls_are_discarded()
    {
        await using var server = await TestSmtpServer.StartAsync(tls: true);
        await using var client = await RawSmtpClient.ConnectAsync(server.EndPoint);
        await client.ReadReplyAsync();
        await client.CommandAsync("EHLO client.example");
        // The injection of CVE-2011-0411: plaintext commands in the same packet as STARTTLS.
        await client.SendAsync("STARTTLS\r\nMAIL FROM:<evil@s.example>\r\nRCPT TO:<victim@r.example>\r\n");
        Assert.Equal(220, (await client.ReadReplyAsync()).Code);
        await client.StartTlsAsync();
        // Neither the injected MAIL nor the EHLO before TLS survive.
        Assert.Equal("503 5.5.1 Send HELO/EHLO first", (await client.CommandAsync("MAIL FROM:<a@s.example>")).ToString());
        await client.CommandAsync("EHLO client.example");
        Assert.Equal("503 5.5.1 Need MAIL command", (await client.CommandAsync("RCPT TO:<b@r.example>")).ToString());
        Assert.Equal("503 5.5.1 TLS already active", (await client.CommandAsync("STARTTLS")).ToString());
    }

    [Fact]
    public async Task Implicit_tls_endpoint_speaks_tls_from_the_first_byte()
    {
        await using var server = await TestSmtpServer.StartAsync(tls: true);
        await using var client = await RawSmtpClient.ConnectAsync(server.Host.EndPoints[1], implicitTls: true);
        Assert.Equal(220, (await client.ReadReplyAsync()).Code);
        var ehlo = await client.CommandAsync("EHLO client.example");
        Assert.DoesNotContain("STARTTLS", ehlo.Lines);
        Assert.Contains("AUTH PLAIN LOGIN", ehlo.Lines);
    }

    [Fact]
    public async Task Failed_handshake_ends_only_that_session()
    {
        await using var server = await TestSmtpServer.StartAsync(tls: true);
        await using (var client = await RawSmtpClient.ConnectAsync(server.EndPoint))
        {
            await client.ReadReplyAsync();
            await client.CommandAsync("EHLO client.example");
            await client.CommandAsync("STARTTLS");
            await client.SendAsync("this is not a TLS client hello\r\n");
            Assert.True(await client.IsClosedByServerAsync(TimeSpan.FromSeconds(10)));
        }
        await using var next = await RawSmtpClient.ConnectAsync(server.EndPoint);
        Assert.Equal(220, (await next.ReadReplyAsync()).Code);
    }
}
